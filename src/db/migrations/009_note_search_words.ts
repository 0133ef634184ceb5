import { type Kysely, sql } from "kysely";
import type { Engine } from "../schema.js";
import { FOLDING_BLOCKS, LETTERS_MOVED_TO, lettersFoldedToAscii } from "../search-letters.js";

/**
 * The words of each note and its author's names as they are written, beside their stems, so that
 * the word being typed matches every word it begins, whatever it is stemmed to ("usef" finds
 * "useful", stemmed "us" by Porter and "use" by Snowball).
 *
 * SQLite: `note_search` gets a third column, `words`, the content and the names once more. The
 * porter tokenizer of the table stems every column, but it only rewrites endings of ASCII letters;
 * in `words` every letter that would reach it as one is first moved to the private use area (a,
 * A, á to U+E000, b to U+E001, …; see src/db/search-letters.ts, which moves the typed word's
 * letters the same way), where the porter tokenizer leaves it and unicode61 keeps it as a letter
 * of the word. Prefix indexes of 1, 2 and 3 characters answer the word being typed without
 * merging the lists of every word it begins. FTS5 cannot add a column to a table, so
 * the table, its view, its triggers and its vocabulary table are made again, and the notes there
 * are indexed by a rebuild.
 *
 * PostgreSQL: `note.search` also holds the words as the `simple` configuration gives them (folded,
 * in lower case, not stemmed), with weight A; the stems keep the default weight D. A query asks for
 * the typed word's beginning with weight A (`'usef':*A`) and for whole words with weight D, so the
 * one GIN index answers both, and a word that is its own stem is one entry in it.
 */
export function up(engine: Engine) {
  return async (db: Kysely<unknown>): Promise<void> => {
    if (engine === "sqlite") await sqlite(db);
    else await postgres(db);
  };
}

/** The author column: the names as one text, of the row named by `of` (`old.`, `new.`, or none). */
const author = (of = "") => `${of}fname || ' ' || ${of}lname`;

/**
 * SQL for the `words` column from a text (src/db/search-letters.ts): letters that unicode61 would
 * fold to ASCII letters become those (in lower case), then every ASCII letter is moved to the
 * private use area. The long chain of replacements runs only for text with a letter of the Latin
 * blocks or a letterlike symbol in it; GLOB checks ranges cheaply, where a class of every letter
 * would have been compared with each character of the text.
 */
function movedLetters(text: string): string {
  let folded = text;
  for (const [letter, ascii] of lettersFoldedToAscii()) folded = `replace(${folded}, '${letter}', '${ascii}')`;
  let expression = `lower(case when ${text} glob '*[${FOLDING_RANGES}]*' then ${folded} else ${text} end)`;
  for (let i = 0; i < 26; i++) {
    expression = `replace(${expression}, '${String.fromCharCode(97 + i)}', char(${LETTERS_MOVED_TO + i}))`;
  }
  return expression;
}

/** A GLOB character class of the blocks holding every letter unicode61 folds to an ASCII letter. */
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
  await sql`drop table note_search_vocab`.execute(db);
  await sql`drop table note_search`.execute(db);
  await sql`drop view note_search_source`.execute(db);

  await sql
    .raw(`create view note_search_source as
            select note.note_id, note.content, ${author("person.")} as author,
              ${words("note.content", author("person."))} as words
            from note join person on person.person_id = note.person_id`)
    .execute(db);
  await sql
    .raw(`create virtual table note_search using fts5(
            content, author, words,
            content = 'note_search_source', content_rowid = 'note_id',
            tokenize = 'porter unicode61 remove_diacritics 2', prefix = '1 2 3')`)
    .execute(db);

  // External content: a row leaves the index only when it is given exactly as it was indexed.
  // `names` is the author's names of each row the select `from` gives.
  const remove = (id: string, content: string, names: string, from: string) =>
    `insert into note_search (note_search, rowid, content, author, words)
       select 'delete', ${id}, ${content}, ${names}, ${words(content, names)} ${from}`;
  const add = (id: string, content: string, names: string, from: string) =>
    `insert into note_search (rowid, content, author, words)
       select ${id}, ${content}, ${names}, ${words(content, names)} ${from}`;
  const authorOf = (personId: string) => `from person where person_id = ${personId}`;

  await sql
    .raw(`create trigger note_search_insert after insert on note begin
            ${add("new.note_id", "new.content", author(), authorOf("new.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger note_search_update after update of note_id, person_id, content on note
            when old.note_id is not new.note_id or old.person_id is not new.person_id
              or old.content is not new.content
          begin
            ${remove("old.note_id", "old.content", author(), authorOf("old.person_id"))};
            ${add("new.note_id", "new.content", author(), authorOf("new.person_id"))};
          end`)
    .execute(db);
  // A note deleted with its person finds no author here: the person's trigger removed it already.
  await sql
    .raw(`create trigger note_search_delete after delete on note begin
            ${remove("old.note_id", "old.content", author(), authorOf("old.person_id"))};
          end`)
    .execute(db);
  // Before the person goes, while their notes and names are still there to be named.
  const notesOf = (personId: string) => `from note where person_id = ${personId}`;
  await sql
    .raw(`create trigger person_search_delete before delete on person begin
            ${remove("note_id", "content", author("old."), notesOf("old.person_id"))};
          end`)
    .execute(db);
  await sql
    .raw(`create trigger person_search_rename after update of fname, lname on person
            when old.fname is not new.fname or old.lname is not new.lname
          begin
            ${remove("note_id", "content", author("old."), notesOf("old.person_id"))};
            ${add("note_id", "content", author("new."), notesOf("new.person_id"))};
          end`)
    .execute(db);

  // Its terms, to tell whether a word being typed begins any other indexed word (see search-repository.ts).
  await sql`create virtual table note_search_vocab using fts5vocab(note_search, 'row')`.execute(db);

  await sql`insert into note_search (note_search) values ('rebuild')`.execute(db);
}

async function postgres(db: Kysely<unknown>): Promise<void> {
  // The configuration by its oid, so that the triggers do not depend on the search path (as in 007).
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
              new.search := ${vector("new.content", "coalesce(names, '')")};
              return new;
            end $$`)
    .execute(db);
  await sql
    .raw(`create or replace function person_search_rename() returns trigger language plpgsql as $$
            begin
              update note set search = ${vector("content", author("new."))}
                where person_id = new.person_id;
              return null;
            end $$`)
    .execute(db);
  // Every note once more; the trigger on note does not run for a change of `search` alone.
  await sql
    .raw(`update note set search = ${vector("note.content", author("person."))}
          from person where person.person_id = note.person_id`)
    .execute(db);
}
