import type { Kysely } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Note history: `note_revision` holds a note's versions (content, time, number, and who made
 * each), the current one included, each written in the transaction that makes it; so a change
 * finds the version it replaces kept already. A note made before this table (or loaded by an
 * import or a copy) gets its current version kept, with its maker unknown (null), when it next
 * changes. The note table itself is unchanged. Deleting a note deletes its history (the foreign
 * key cascades), as deleting a person deletes their notes.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    const sqlite = engine === "sqlite";
    const id = sqlite ? "integer" : "bigint";
    const time = sqlite ? "text" : "timestamptz";
    await db.schema
      .createTable("note_revision")
      .addColumn("note_id", id, (c) => c.notNull().references("note.note_id").onDelete("cascade"))
      .addColumn("version", id, (c) => c.notNull())
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("timestamp", time, (c) => c.notNull())
      .addColumn("changed_by", "text")
      .addColumn("changed_by_person_id", id)
      // A note's versions, newest first, are one range of this key: listing, reading one and
      // pruning the oldest never scan another note's.
      .addPrimaryKeyConstraint("note_revision_key", ["note_id", "version"])
      .execute();
  };
}
