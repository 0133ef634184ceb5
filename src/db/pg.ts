import { createRequire } from "node:module";
import type pgModule from "pg";

const TIMESTAMPTZ_OID = 1184;
const INT8_OID = 20;

let loaded: typeof pgModule | undefined;

/**
 * The pg driver, loaded when PostgreSQL is first used: a server on SQLite never loads it (a good
 * part of a second's start-up on a busy machine).
 */
export function pg(): typeof pgModule {
  if (!loaded) {
    loaded = createRequire(import.meta.url)("pg") as typeof pgModule;
    // Timestamps leave the database as the same ISO strings on both engines; counters fit in a double.
    loaded.types.setTypeParser(TIMESTAMPTZ_OID, (value) => new Date(value).toISOString());
    loaded.types.setTypeParser(INT8_OID, (value) => Number(value));
  }
  return loaded;
}
