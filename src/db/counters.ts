import type { Kysely } from "kysely";
import { prepareQuery, type QueryRunner } from "./prepared.js";
import type { Database } from "./schema.js";

export type CountedTable = "person" | "note";

/** Reads a table's row count from the counter the triggers keep, never by counting the table. */
export function counterOf(db: Kysely<Database>, runner: QueryRunner, table: CountedTable): () => Promise<number> {
  const read = prepareQuery(runner, () => db.selectFrom("counter").select("value").where("name", "=", table));
  return async () => {
    const row = await read.first();
    if (row === undefined) throw new Error(`the ${table} counter is missing`);
    return Number(row.value);
  };
}
