import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Versions on every row, per-person note counts, and counts that concurrent writers do not queue
 * on. On PostgreSQL timestamps keep exactly the milliseconds the API shows, and an id written
 * explicitly (a restore) moves its identity sequence past it.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    for (const table of ["person", "note"]) {
      await db.schema
        .alterTable(table)
        .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
        .execute();
    }

    const id = engine === "sqlite" ? "integer" : "bigint";
    await db.schema
      .createTable("table_count")
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("slot", "integer", (c) => c.notNull())
      .addColumn("value", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("table_count_pkey", ["name", "slot"])
      .execute();
    await db.schema
      .createTable("person_note_count")
      .addColumn("person_id", id, (c) => c.notNull())
      .addColumn("slot", "integer", (c) => c.notNull())
      .addColumn("value", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("person_note_count_pkey", ["person_id", "slot"])
      .execute();
    await sql`insert into table_count (name, slot, value) select name, 0, value from counter`.execute(db);
    await sql`insert into person_note_count (person_id, slot, value)
              select person_id, 0, count(*) from note group by person_id`.execute(db);

    if (engine === "sqlite") await sqliteTriggers(db);
    else await postgresTriggers(db);
    await db.schema.dropTable("counter").execute();
  };
}

const MILLISECOND_TIMESTAMP =
  "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z";

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  // Timestamps are text on SQLite: keep them in the one form (and precision) the API shows.
  for (const table of ["person", "note"]) {
    for (const event of ["insert", "update of timestamp"]) {
      await sql
        .raw(`create trigger ${table}_timestamp_${event.split(" ")[0]} before ${event} on ${table}
                when new.timestamp not glob '${MILLISECOND_TIMESTAMP}'
                begin select raise(abort, 'timestamp must be ISO 8601 UTC with milliseconds'); end`)
        .execute(db);
    }
  }
  for (const table of ["person", "note"]) {
    await sql.raw(`drop trigger ${table}_count_insert`).execute(db);
    await sql.raw(`drop trigger ${table}_count_delete`).execute(db);
  }
  // One writer at a time: a single slot is enough.
  const add = (name: string, delta: number) =>
    `insert into table_count (name, slot, value) values ('${name}', 0, ${delta})
       on conflict (name, slot) do update set value = value + excluded.value;`;
  await sql
    .raw(`create trigger person_counted_insert after insert on person begin ${add("person", 1)} end`)
    .execute(db);
  await sql
    .raw(`create trigger person_counted_delete after delete on person begin ${add("person", -1)}
            delete from person_note_count where person_id = old.person_id; end`)
    .execute(db);
  await sql
    .raw(`create trigger note_counted_insert after insert on note begin ${add("note", 1)}
            insert into person_note_count (person_id, slot, value) values (new.person_id, 0, 1)
              on conflict (person_id, slot) do update set value = value + 1; end`)
    .execute(db);
  // A note deleted with its person finds the person's counts gone already, or about to go.
  await sql
    .raw(`create trigger note_counted_delete after delete on note begin ${add("note", -1)}
            update person_note_count set value = value - 1 where person_id = old.person_id and slot = 0; end`)
    .execute(db);
}

/** Statement triggers over transition tables: one counter write per statement and connection slot. */
async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  for (const table of ["person", "note"]) {
    await sql.raw(`drop trigger ${table}_count_insert on ${table}`).execute(db);
    await sql.raw(`drop trigger ${table}_count_delete on ${table}`).execute(db);
    await sql.raw(`alter table ${table} alter column timestamp type timestamptz(3)`).execute(db);
  }
  await sql`drop function count_inserted(), count_deleted()`.execute(db);

  const countTable = (table: string) => `
    insert into table_count as c (name, slot, value)
      select '${table}', pg_backend_pid() % 16, case when tg_op = 'INSERT' then count(*) else -count(*) end
      from changed having count(*) > 0
      on conflict (name, slot) do update set value = c.value + excluded.value;`;
  const keepIdentityAhead = (table: string, column: string) => `
    if tg_op = 'INSERT' then
      top := (select max(${column}) from changed);
      sequence := pg_get_serial_sequence('${table}', '${column}');
      if top > coalesce(pg_sequence_last_value(sequence::regclass), 0) then
        perform setval(sequence, top);
      end if;
    end if;`;

  await sql
    .raw(`create function count_people() returns trigger language plpgsql as $$
      declare top bigint; sequence text;
      begin
        ${countTable("person")}
        if tg_op = 'DELETE' then
          delete from person_note_count where person_id in (select person_id from changed);
        end if;
        ${keepIdentityAhead("person", "person_id")}
        return null;
      end $$`)
    .execute(db);
  // Notes deleted with their person skip their person's count: the person's trigger removes it.
  await sql
    .raw(`create function count_notes() returns trigger language plpgsql as $$
      declare top bigint; sequence text;
      begin
        ${countTable("note")}
        insert into person_note_count as c (person_id, slot, value)
          select person_id, pg_backend_pid() % 16, case when tg_op = 'INSERT' then count(*) else -count(*) end
          from changed
          where tg_op = 'INSERT' or exists (select 1 from person p where p.person_id = changed.person_id)
          group by person_id order by person_id
          on conflict (person_id, slot) do update set value = c.value + excluded.value;
        ${keepIdentityAhead("note", "note_id")}
        return null;
      end $$`)
    .execute(db);
  for (const [table, fn] of [
    ["person", "count_people"],
    ["note", "count_notes"],
  ]) {
    await sql
      .raw(`create trigger ${table}_counted_insert after insert on ${table}
              referencing new table as changed for each statement execute function ${fn}()`)
      .execute(db);
    await sql
      .raw(`create trigger ${table}_counted_delete after delete on ${table}
              referencing old table as changed for each statement execute function ${fn}()`)
      .execute(db);
  }
}
