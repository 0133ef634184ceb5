import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * The change feed: one row per change to a person or a note, written in the transaction that makes
 * the change, so a rolled-back change leaves no row and a committed one always has its row. The
 * revision orders the feed; `data` is the changed resource as the API shows it (ids only for a
 * deletion). `feed_horizon` remembers the newest revision pruned, so a client asking for older
 * changes can be told to reload instead of silently missing some.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    await db.schema
      .createTable("change")
      .addColumn("revision", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("person_id", id, (c) => c.notNull())
      .addColumn("note_id", id)
      .addColumn("data", "text", (c) => c.notNull())
      .addColumn("recorded_at", sqlite ? "text" : "timestamptz(3)", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("change_recorded_at").on("change").column("recorded_at").execute();
    await db.schema
      .createTable("feed_horizon")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("pruned_through", id, (c) => c.notNull())
      .execute();
    await sql`insert into feed_horizon (name, pruned_through) values ('change', 0)`.execute(db);
  };
}
