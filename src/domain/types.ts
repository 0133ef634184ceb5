import type { components } from "../../openapi/types.js";

export type Person = components["schemas"]["Person"];
export type PersonNote = components["schemas"]["PersonNote"];
export type Note = components["schemas"]["Note"];
export type NoteRevision = components["schemas"]["NoteRevision"];
export type ChangedBy = components["schemas"]["ChangedBy"];
export type Problem = components["schemas"]["Problem"];
export type TrashEntry = components["schemas"]["TrashEntry"];
export type WebhookInput = components["schemas"]["WebhookInput"];
export type WebhookEventKind = components["schemas"]["WebhookEventKind"];
