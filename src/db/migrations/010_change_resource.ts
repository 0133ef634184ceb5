import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * A change names its resource generically: the kind (`note.created`: the resource type before the
 * dot), the person it belongs to, and the resource's id, so a new kind of resource needs no column
 * of its own. `note_id` becomes `resource_id`, never null: a note's id for a note's change (as
 * before), the person's id for a person's change (where it was null). Revisions, and the sequence
 * that hands them out, are kept.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    if (engine === "postgres") {
      await sql`alter table change rename column note_id to resource_id`.execute(db);
      await sql`update change set resource_id = person_id where resource_id is null`.execute(db);
      await sql`alter table change alter column resource_id set not null`.execute(db);
      return;
    }
    // SQLite cannot make a column not null in place: the table is built again, in one transaction.
    await db.transaction().execute(async (tx) => {
      await sql`create table change_next (
                  revision integer primary key autoincrement,
                  kind text not null,
                  person_id integer not null,
                  resource_id integer not null,
                  data text not null,
                  recorded_at text not null)`.execute(tx);
      await sql`insert into change_next (revision, kind, person_id, resource_id, data, recorded_at)
                select revision, kind, person_id, coalesce(note_id, person_id), data, recorded_at
                from change order by revision`.execute(tx);
      // AUTOINCREMENT never hands out a revision again, pruned or not: the new table goes on from
      // where the old one's sequence stood, not from its newest remaining row.
      await sql`delete from sqlite_sequence where name = 'change_next'`.execute(tx);
      await sql`insert into sqlite_sequence (name, seq)
                select 'change_next', seq from sqlite_sequence where name = 'change'`.execute(tx);
      await sql`drop table change`.execute(tx);
      await sql`alter table change_next rename to change`.execute(tx);
      await sql`create index change_recorded_at on change (recorded_at)`.execute(tx);
    });
  };
}
