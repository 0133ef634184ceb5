import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";
import { FOLDING_BLOCKS, LETTERS_MOVED_TO, lettersFoldedToAscii } from "../search-letters.js";

/**
 * Search reads the words of a note as a reader sees them, not its Markdown: `note.search_text`
 * holds them (src/db/search-text.ts: the addresses of links and images left out), written with
 * the content by every write, and the index reads it in place of the content. A note whose
 * `search_text` is null (written by a path that does not make it) is indexed by its content, as
 * before. Highlights are still found in the content itself.
 *
 * Existing notes get their `search_text` here, a batch at a time in note id order; then the index
 * is made again from it: SQLite's view and triggers of `note_search` (as migration 009 made them,
 * reading `coalesce(search_text, content)`) and a rebuild; PostgreSQL's trigger functions and every
 * note's `search`.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    await sql`alter table note add column search_text text`.execute(db);
    await fillSearchText(db);
    if (engine === "sqlite") await sqlite(db);
    else await postgres(db);
  };
}

/** Notes per statement: two parameters each, far below both engines' limits. */
const BATCH = 250;

async function fillSearchText(db: Kysely<unknown>): Promise<void> {
  // Loaded here, not with the migrations: every command that opens a database loads those, and
  // markdown-it is needed only on the one run that fills the column.
  const { searchText } = await import("../search-text.js");
  let after = 0;
  // Each turn moves past the notes it read, so the loop ends after the last one.
  for (;;) {
    const { rows } = await sql<{ note_id: number | string; content: string }>`
      select note_id, content from note where note_id > ${after} order by note_id limit ${BATCH}`.execute(db);
    if (rows.length === 0) return;
    const values = sql.join(
      rows.map((row) => sql`(cast(${Number(row.note_id)} as bigint), ${searchText(row.content)})`),
    );
    await sql`with written (note_id, search_text) as (values ${values})
              update note set search_text = (select written.search_text from written where written.note_id = note.note_id)
              where note_id in (select note_id from written)`.execute(db);
    after = Number(rows[rows.length - 1]?.note_id);
  }
}

/** The author column: the names as one text, of the row named by `of` (`old.`, `new.`, or none). */
const author = (of = "") => `${of}fname || ' ' || ${of}lname`;

/** What the index reads of a note: its search text, or its content where it has none. */
const searched = (of = "") => `coalesce(${of}search_text, ${of}content)`;

/** As in migration 009: the `words` column's text, every letter unicode61 folds to ASCII moved. */
function movedLetters(text: string): string {
  let folded = text;
  for (const [letter, ascii] of lettersFoldedToAscii()) folded = `replace(${folded}, '${letter}', '${ascii}')`;
  let expression = `lower(case when ${text} glob '*[${FOLDING_RANGES}]*' then ${folded} else ${text} end)`;
  for (let i = 0; i < 26; i++) {
    expression = `replace(${expression}, '${String.fromCharCode(97 + i)}', char(${LETTERS_MOVED_TO + i}))`;
  }
  return expression;
}

const FOLDING_RANGES = FOLDING_BLOCKS.map(
  ([first, last]) => `${String.fromCodePoint(first)}-${String.fromCodePoint(last)}`,
).join("");

const words = (content: string, names: string) => movedLetters(`(${content} || ' ' || ${names})`);

async function sqlite(db: Kysely<unknown>): Promise<void> {
  for (const trigger of [
    "note_search_insert",
    "note_search_update",
    "note_search_delete",
    "person_search_delete",
    "person_search_rename",
  ]) {
    await sql.raw(`drop trigger ${trigger}`).execute(db);
  }
  await sql`drop view note_search_source`.execute(db);
  await sql
    .raw(`create view note_search_source as
            select note.note_id, ${searched("note.")} as content, ${author("person.")} as author,
              ${words(searched("note."), author("person."))} as words
            from note join person on person.person_id = note.person_id`)
    .execute(db);

  const remove = (id: string, content: string, names: string, from: string) =>
    `insert into note_search (note_search, rowid, content, author, words)
       select 'delete', ${id}, ${content}, ${names}, ${words(content, names)} ${from}`;
  const add = (id: string, content: string, names: string, from: string) =>
    `insert into note_search (rowid, content, author, words)
       select ${id}, ${content}, ${names}, ${words(content, names)} ${from}`;
  const authorOf = (personId: string) => `from person where person_id = ${personId}`;

  await sql
    .raw(`create trigger note_search_insert after insert on note begin
            ${add("new.note_id", searched("new."), author(), authorOf("new.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger note_search_update after update of note_id, person_id, content, search_text on note
            when old.note_id is not new.note_id or old.person_id is not new.person_id
              or old.content is not new.content or old.search_text is not new.search_text
          begin
            ${remove("old.note_id", searched("old."), author(), authorOf("old.person_id"))};
            ${add("new.note_id", searched("new."), author(), authorOf("new.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger note_search_delete after delete on note begin
            ${remove("old.note_id", searched("old."), author(), authorOf("old.person_id"))};
          end`)
    .execute(db);
  const notesOf = (personId: string) => `from note where person_id = ${personId}`;
  await sql
    .raw(`create trigger person_search_delete before delete on person begin
            ${remove("note_id", searched(), author("old."), notesOf("old.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger person_search_rename after update of fname, lname on person
            when old.fname is not new.fname or old.lname is not new.lname
          begin
            ${remove("note_id", searched(), author("old."), notesOf("old.person_id"))};
            ${add("note_id", searched(), author("new."), notesOf("new.person_id"))};
          end`)
    .execute(db);

  await sql`insert into note_search (note_search) values ('rebuild')`.execute(db);
}

async function postgres(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ oid: string }>`select 'note_search'::regconfig::oid::text as oid`.execute(db);
  const oid = rows[0]?.oid;
  if (!oid) throw new Error("no text search configuration note_search");
  const stemmed = `${oid}::oid::regconfig`;
  const simple = "'pg_catalog.simple'::regconfig";
  const vector = (content: string, names: string) =>
    `to_tsvector(${stemmed}, note_search_fold(${content})) || to_tsvector(${stemmed}, note_search_fold(${names}))
       || setweight(to_tsvector(${simple}, note_search_fold(${content}))
                    || to_tsvector(${simple}, note_search_fold(${names})), 'A')`;

  await sql
    .raw(`create or replace function note_search_vector() returns trigger language plpgsql as $$
            declare names text;
            begin
              select ${author()} into names from person where person_id = new.person_id for share;
              new.search := ${vector(searched("new."), "coalesce(names, '')")};
              return new;
            end $$`)
    .execute(db);
  await sql`drop trigger note_search_vector on note`.execute(db);
  await sql
    .raw(`create trigger note_search_vector before insert or update of person_id, content, search_text on note
            for each row execute function note_search_vector()`)
    .execute(db);
  await sql
    .raw(`create or replace function person_search_rename() returns trigger language plpgsql as $$
            begin
              update note set search = ${vector(searched(), author("new."))}
                where person_id = new.person_id;
              return null;
            end $$`)
    .execute(db);
  await sql
    .raw(`update note set search = ${vector(searched("note."), author("person."))}
          from person where person.person_id = note.person_id`)
    .execute(db);
}
