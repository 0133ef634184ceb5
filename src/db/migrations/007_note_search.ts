import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";

/**
 * Full-text search over each note's content and its author's names.
 *
 * SQLite: an FTS5 table with external content (`note_search`, reading `note_search_source`, the
 * notes joined with their authors), Porter stemming over the unicode61 tokenizer, and prefix
 * indexes of 2 and 3 characters for the word being typed. Triggers keep it in step with every
 * change of a note and of an author's names; the notes there are now are indexed by a rebuild.
 *
 * PostgreSQL: `note.search`, a tsvector of the content and the author's names kept by triggers (a
 * generated column cannot read the author), with a GIN index. Its configuration `note_search` is
 * the `english` configuration with the English Snowball stemmer but no stop words, because FTS5
 * has none: both engines then index every word, and find the same notes for the same words.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    if (engine === "sqlite") await sqlite(db);
    else await postgres(db);
  };
}

/** The author column: the names as one text, of the row named by `of` (`old.`, `new.`, or none). */
const author = (of = "") => `${of}fname || ' ' || ${of}lname`;

async function sqlite(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`create view note_search_source as
            select note.note_id, note.content, ${author("person.")} as author
            from note join person on person.person_id = note.person_id`)
    .execute(db);
  await sql
    .raw(`create virtual table note_search using fts5(
            content, author,
            content = 'note_search_source', content_rowid = 'note_id',
            tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')`)
    .execute(db);

  // External content: a row leaves the index only when it is given exactly as it was indexed.
  const remove = (id: string, content: string, from: string) =>
    `insert into note_search (note_search, rowid, content, author) select 'delete', ${id}, ${content}, ${from}`;
  const add = (id: string, content: string, from: string) =>
    `insert into note_search (rowid, content, author) select ${id}, ${content}, ${from}`;
  const authorOf = (personId: string) => `${author()} from person where person_id = ${personId}`;

  await sql
    .raw(`create trigger note_search_insert after insert on note begin
            ${add("new.note_id", "new.content", authorOf("new.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger note_search_update after update of note_id, person_id, content on note
            when old.note_id is not new.note_id or old.person_id is not new.person_id
              or old.content is not new.content
          begin
            ${remove("old.note_id", "old.content", authorOf("old.person_id"))};
            ${add("new.note_id", "new.content", authorOf("new.person_id"))};
          end`)
    .execute(db);
  // A note deleted with its person finds no author here: the person's trigger removed it already.
  await sql
    .raw(`create trigger note_search_delete after delete on note begin
            ${remove("old.note_id", "old.content", authorOf("old.person_id"))};
          end`)
    .execute(db);
  // Before the person goes, while their notes and names are still there to be named.
  await sql
    .raw(`create trigger person_search_delete before delete on person begin
            ${remove("note_id", "content", `${author("old.")} from note where person_id = old.person_id`)};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger person_search_rename after update of fname, lname on person
            when old.fname is not new.fname or old.lname is not new.lname
          begin
            ${remove("note_id", "content", `${author("old.")} from note where person_id = old.person_id`)};
            ${add("note_id", "content", `${author("new.")} from note where person_id = new.person_id`)};
          end`)
    .execute(db);

  // Its terms, to tell whether a word being typed begins any other indexed word (see search-repository.ts).
  await sql`create virtual table note_search_vocab using fts5vocab(note_search, 'row')`.execute(db);

  await sql`insert into note_search (note_search) values ('rebuild')`.execute(db);
}

/**
 * What SQLite's `remove_diacritics` does, for PostgreSQL (which has it only in the unaccent
 * extension, which needs a superuser to install): the Latin letters with diacritics become their
 * base letters, and combining marks go. As `translate()` arguments: each character of the first
 * becomes the one at its place in the second; those past its end are removed.
 */
function diacriticFolding(): { from: string; to: string } {
  let from = "";
  let to = "";
  for (const ranges of [
    [0xc0, 0x24f],
    [0x1e00, 0x1eff],
  ]) {
    for (let point = ranges[0] as number; point <= (ranges[1] as number); point++) {
      const letter = String.fromCodePoint(point);
      const base = letter.normalize("NFD").replace(/\p{M}/gu, "");
      if (base !== letter && /^[A-Za-z]$/.test(base)) {
        from += letter;
        to += base;
      }
    }
  }
  for (let mark = 0x300; mark <= 0x36f; mark++) from += String.fromCodePoint(mark);
  return { from, to };
}

async function postgres(db: Kysely<unknown>): Promise<void> {
  await sql`create text search dictionary note_search_stem (template = snowball, language = english)`.execute(db);
  await sql`create text search configuration note_search (copy = pg_catalog.english)`.execute(db);
  await sql`alter text search configuration note_search alter mapping replace english_stem with note_search_stem`.execute(
    db,
  );
  // The configuration by its oid, so that the triggers do not depend on the search path.
  const { rows } = await sql<{ oid: string }>`select 'note_search'::regconfig::oid::text as oid`.execute(db);
  const oid = rows[0]?.oid;
  if (!oid) throw new Error("no text search configuration note_search");
  const config = `${oid}::oid::regconfig`;
  // Queries fold their text with the same function (src/db/search-repository.ts).
  const { from, to } = diacriticFolding();
  await sql
    // translate() looks every character up in its long list, which costs more than the rest of
    // indexing a note; text that is all ASCII has nothing to fold, and most text is.
    .raw(`create function note_search_fold(text) returns text language sql immutable parallel safe
            as $$ select case when $1 ~ '^[\x01-\x7f]*$' then $1 else translate($1, '${from}', '${to}') end $$`)
    .execute(db);
  const vector = (content: string, author: string) =>
    `to_tsvector(${config}, note_search_fold(${content})) || to_tsvector(${config}, note_search_fold(${author}))`;

  await sql`alter table note add column search tsvector`.execute(db);
  await sql
    .raw(`update note set search = ${vector("note.content", author("person."))}
          from person where person.person_id = note.person_id`)
    .execute(db);
  await sql`create index note_search on note using gin (search)`.execute(db);

  // The author's row is read for share: a rename committing meanwhile is either seen here or,
  // waiting for this note's transaction, updates this note itself.
  await sql
    .raw(`create function note_search_vector() returns trigger language plpgsql as $$
            declare names text;
            begin
              select ${author()} into names from person where person_id = new.person_id for share;
              new.search := ${vector("new.content", "coalesce(names, '')")};
              return new;
            end $$`)
    .execute(db);
  await sql
    .raw(`create trigger note_search_vector before insert or update of person_id, content on note
            for each row execute function note_search_vector()`)
    .execute(db);
  await sql
    .raw(`create function person_search_rename() returns trigger language plpgsql as $$
            begin
              update note set search = ${vector("content", author("new."))}
                where person_id = new.person_id;
              return null;
            end $$`)
    .execute(db);
  await sql
    .raw(`create trigger person_search_rename after update of fname, lname on person for each row
            when (old.fname is distinct from new.fname or old.lname is distinct from new.lname)
            execute function person_search_rename()`)
    .execute(db);
}
