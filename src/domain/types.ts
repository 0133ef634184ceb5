import type { components } from "../../openapi/types.js";

export type Person = components["schemas"]["Person"];
export type PersonNote = components["schemas"]["PersonNote"];
export type Note = components["schemas"]["Note"];
export type Problem = components["schemas"]["Problem"];
