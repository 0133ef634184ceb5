import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * The count triggers looked their identity sequence up by name on every statement, which cost
 * PostgreSQL a catalog search per insert; the sequence is now resolved once, here, and the check
 * compares against it directly. Counting itself is unchanged. Nothing to do on SQLite.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    if (engine !== "postgres") return;
    const sequenceOf = async (table: string, column: string) => {
      const { rows } = await sql<{ sequence: string }>`
        select pg_get_serial_sequence(${table}, ${column})::regclass::oid::text as sequence`.execute(db);
      const oid = rows[0]?.sequence;
      if (!oid) throw new Error(`no identity sequence for ${table}.${column}`);
      return oid;
    };
    const keepIdentityAhead = (column: string, sequenceOid: string) => `
      if tg_op = 'INSERT' then
        top := (select max(${column}) from changed);
        if top > coalesce(pg_sequence_last_value(${sequenceOid}::oid::regclass), 0) then
          perform setval(${sequenceOid}::oid::regclass, top);
        end if;
      end if;`;
    const countTable = (table: string) => `
      insert into table_count as c (name, slot, value)
        select '${table}', pg_backend_pid() % 16, case when tg_op = 'INSERT' then count(*) else -count(*) end
        from changed having count(*) > 0
        on conflict (name, slot) do update set value = c.value + excluded.value;`;

    await sql
      .raw(`create or replace function count_people() returns trigger language plpgsql as $$
        declare top bigint;
        begin
          ${countTable("person")}
          if tg_op = 'DELETE' then
            delete from person_note_count where person_id in (select person_id from changed);
          end if;
          ${keepIdentityAhead("person_id", await sequenceOf("person", "person_id"))}
          return null;
        end $$`)
      .execute(db);
    await sql
      .raw(`create or replace function count_notes() returns trigger language plpgsql as $$
        declare top bigint;
        begin
          ${countTable("note")}
          insert into person_note_count as c (person_id, slot, value)
            select person_id, pg_backend_pid() % 16, case when tg_op = 'INSERT' then count(*) else -count(*) end
            from changed
            where tg_op = 'INSERT' or exists (select 1 from person p where p.person_id = changed.person_id)
            group by person_id order by person_id
            on conflict (person_id, slot) do update set value = c.value + excluded.value;
          ${keepIdentityAhead("note_id", await sequenceOf("note", "note_id"))}
          return null;
        end $$`)
      .execute(db);
  };
}
