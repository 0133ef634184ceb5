import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/** How long a fold waits for the writers in flight before it gives up until next time. */
const FOLD_LOCK_TIMEOUT = "100ms";

/**
 * PostgreSQL: a note insert no longer writes any counter row. The counts hold every note up to a
 * watermark (`count_watermark`); notes above it are counted live, from the primary key, and
 * `fold_note_counts()` (run every second by the service) moves them into the counts and raises the
 * watermark. Only a note written below the watermark (an explicit id, as a restore writes) and the
 * deletion of one are counted as they happen. Nothing changes on SQLite, where one writer at a
 * time keeps counting contention-free already.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    if (engine !== "postgres") return;
    const { rows } = await sql<{ sequence: string }>`
      select pg_get_serial_sequence('note', 'note_id')::regclass::oid::text as sequence`.execute(db);
    const sequence = rows[0]?.sequence;
    if (!sequence) throw new Error("no identity sequence for note.note_id");

    // Until this commits, no note is written: the counts hold every note, so the watermark is the newest.
    await sql`lock table note in share mode`.execute(db);
    await sql`create table count_watermark (name text primary key, last_folded bigint not null)`.execute(db);
    await sql`insert into count_watermark (name, last_folded)
              select 'note', coalesce(max(note_id), 0) from note`.execute(db);
    // The watermark again, where a trigger's condition can read it for the price of a function call.
    // Sequences are not transactional: a fold raises it before the watermark, so it is never below.
    await sql`create sequence note_watermark_hint minvalue 0`.execute(db);
    await sql`select setval('note_watermark_hint', last_folded, true) from count_watermark`.execute(db);
    const { rows: hints } = await sql<{ hint: string }>`
      select 'note_watermark_hint'::regclass::oid::text as hint`.execute(db);
    const hint = hints[0]?.hint;

    await sql
      .raw(`create function note_watermark() returns bigint language sql stable as $$
        select last_folded from count_watermark where name = 'note' $$`)
      .execute(db);

    // A note gets a counter write only when it is written below the watermark, and moves the
    // sequence only when its id was written explicitly past it. The trigger's condition reads only
    // sequences, so an ordinary insert runs no trigger code; the function checks the watermark itself.
    await sql.raw("drop trigger note_counted_insert on note").execute(db);
    await sql
      .raw(`create function count_note_written() returns trigger language plpgsql as $$
        begin
          if new.note_id <= note_watermark() then
            insert into table_count as c (name, slot, value) values ('note', pg_backend_pid() % 16, 1)
              on conflict (name, slot) do update set value = c.value + 1;
            insert into person_note_count as c (person_id, slot, value) values (new.person_id, pg_backend_pid() % 16, 1)
              on conflict (person_id, slot) do update set value = c.value + 1;
          end if;
          if new.note_id > coalesce(pg_sequence_last_value(${sequence}::oid::regclass), 0) then
            perform setval(${sequence}::oid::regclass, new.note_id);
          end if;
          return null;
        end $$`)
      .execute(db);
    await sql
      .raw(`create trigger note_counted_insert after insert on note for each row
              when (new.note_id <= pg_sequence_last_value(${hint}::oid::regclass)
                    or new.note_id > coalesce(pg_sequence_last_value(${sequence}::oid::regclass), 0))
              execute function count_note_written()`)
      .execute(db);

    // Deleting a note counts only when it was folded. Notes deleted with their person skip their
    // person's count: the person's trigger removes it.
    await sql
      .raw(`create or replace function count_notes() returns trigger language plpgsql as $$
        declare folded bigint := note_watermark();
        begin
          insert into table_count as c (name, slot, value)
            select 'note', pg_backend_pid() % 16, -count(*)
            from changed where note_id <= folded having count(*) > 0
            on conflict (name, slot) do update set value = c.value + excluded.value;
          insert into person_note_count as c (person_id, slot, value)
            select person_id, pg_backend_pid() % 16, -count(*)
            from changed
            where note_id <= folded and exists (select 1 from person p where p.person_id = changed.person_id)
            group by person_id order by person_id
            on conflict (person_id, slot) do update set value = c.value + excluded.value;
          return null;
        end $$`)
      .execute(db);

    // The share lock waits for the writers in flight and holds new ones back until the fold
    // commits, so every note above the watermark is committed and seen, and none arrives meanwhile.
    await sql
      .raw(`create function fold_note_counts() returns bigint language plpgsql as $$
        declare folded bigint; newest bigint; moved bigint;
        begin
          if not pg_try_advisory_xact_lock(hashtext(current_schema() || '.fold_note_counts')) then
            return 0;
          end if;
          perform set_config('lock_timeout', '${FOLD_LOCK_TIMEOUT}', true);
          lock table note in share mode;
          select last_folded into folded from count_watermark where name = 'note';
          select max(note_id) into newest from note;
          if newest is null or newest <= folded then
            return 0;
          end if;
          execute 'with tail as (
                     select person_id, count(*) as n from note where note_id > $1 group by person_id
                   ), counted as (
                     insert into person_note_count as c (person_id, slot, value)
                       select person_id, 0, n from tail order by person_id
                       on conflict (person_id, slot) do update set value = c.value + excluded.value
                   )
                   select sum(n) from tail'
            into moved using folded;
          insert into table_count as c (name, slot, value) values ('note', 0, moved)
            on conflict (name, slot) do update set value = c.value + excluded.value;
          perform setval('note_watermark_hint', newest, true);
          update count_watermark set last_folded = newest where name = 'note';
          return moved;
        end $$`)
      .execute(db);

    // Stable: every statement in them reads the one snapshot of the query that calls them.
    await sql
      .raw(`create function note_total() returns bigint language plpgsql stable as $$
        declare folded bigint; live bigint;
        begin
          folded := note_watermark();
          execute 'select count(*) from note where note_id > $1' into live using folded;
          return live + coalesce((select sum(value) from table_count where name = 'note'), 0);
        end $$`)
      .execute(db);
    await sql
      .raw(`create function note_total_of(person bigint) returns bigint language plpgsql stable as $$
        declare folded bigint; live bigint;
        begin
          select last_folded into folded from count_watermark where name = 'note';
          -- From the primary key: the live notes are the newest, however many the person has in all.
          execute 'with live as materialized (select person_id from note where note_id > $1)
                   select count(*) from live where person_id = $2'
            into live using folded, person;
          return live + coalesce((select sum(value) from person_note_count where person_id = person), 0);
        end $$`)
      .execute(db);
  };
}
