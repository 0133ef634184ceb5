import type { Migration } from "kysely";
import type { Engine } from "../schema.js";
import * as initial from "./001_initial.js";

/** Numbered migrations, in order. Each one is written once and branches on the engine only for types. */
export function migrations(engine: Engine): Record<string, Migration> {
  return {
    "001_initial": { up: initial.up(engine) },
  };
}
