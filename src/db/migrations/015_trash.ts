import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * The trash: a deleted note, or a deleted person with all their notes, is one row here, holding
 * the deleted rows (the person, the notes, the notes' kept versions) as JSON, until it is restored
 * or purged. The live tables are unchanged and hold live rows only, so no list, count, search or
 * export query needs to leave the trash out. Ids are never handed out again (AUTOINCREMENT on
 * SQLite, identity sequences on PostgreSQL), so a restore puts every row back under its own id.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz(3)";
    await db.schema
      .createTable("trash_entry")
      .addColumn("trash_id", id, (c) =>
        sqlite ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('note', 'person')`))
      .addColumn("person_id", id, (c) => c.notNull())
      .addColumn("note_id", id)
      .addColumn("fname", "text", (c) => c.notNull())
      .addColumn("lname", "text", (c) => c.notNull())
      .addColumn("content", "text")
      .addColumn("notes", "integer", (c) => c.notNull())
      .addColumn("rows", "text", (c) => c.notNull())
      .addColumn("deleted_at", time, (c) => c.notNull())
      .execute();
    // A person's entries, newest first (their list, and a person's purge taking their notes' entries).
    await db.schema.createIndex("trash_entry_person").on("trash_entry").columns(["person_id", "trash_id"]).execute();
    // The purge finds the expired entries from the oldest.
    await db.schema.createIndex("trash_entry_deleted_at").on("trash_entry").column("deleted_at").execute();
  };
}
