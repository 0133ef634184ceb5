import { CompiledQuery, type Kysely } from "kysely";
import { type Executor, prepareQuery } from "./executor.js";
import type { NoteRow } from "./notes-repository.js";
import type { PersonKey, PersonRow } from "./people-repository.js";
import type { Database, Engine } from "./schema.js";

/**
 * Full-text search of notes (migrations 007 and 009): FTS5 on SQLite, a tsvector with a GIN index
 * on PostgreSQL. What is matched is always bound as parameters (see `NoteMatch`, built in
 * src/domain/search-text.ts), and nothing else the user sent reaches the SQL.
 *
 * Ranking every match of a word found in a tenth of a million notes costs more than the page is
 * allowed to take, so matches are ranked in windows: the newest `window` matches, ranked, then the
 * next, and so on. A window is a range of note ids, [floor, ceiling].
 */

/**
 * What the index is asked. SQLite: an FTS5 expression. PostgreSQL: three texts for `to_tsquery`,
 * combined as `earlier && (last || prefix)`: the earlier words and the last one whole, stemmed by
 * `note_search` (`'water':D & 'hous':D`; `earlier` may be empty), and the last one's beginning,
 * unstemmed by `simple` (`'hous':*A`).
 */
export type NoteMatch = { fts5: string } | { earlier: string; last: string; prefix: string };

function matchParameters(engine: Engine, match: NoteMatch): string[] {
  if (engine === "sqlite" && "fts5" in match) return [match.fts5];
  if (engine === "postgres" && "prefix" in match) return [match.earlier, match.last, match.prefix];
  throw new Error(`a search built for the other engine than ${engine}`);
}

/** A note found, with its relevance (higher is better) within its window. */
export interface RankedNoteRow extends NoteRow {
  score: number;
}

export interface SearchWindow {
  floor: number;
  ceiling: number;
}

/** Where a page starts inside a window: after this score and note id. */
export interface RankedPosition {
  score: number;
  noteId: number;
}

const NOTE_COLUMNS = `note.note_id, note.person_id, note.content, note.timestamp, note.version,
  person.fname, person.lname, person.timestamp as person_timestamp, person.version as person_version`;

/**
 * PostgreSQL: the tsquery of a `NoteMatch` ($1 to $3). An empty `earlier` is left out rather than
 * given to to_tsquery, which would warn that it holds no lexemes.
 */
const LAST_OR_PREFIX = `(to_tsquery('note_search', note_search_fold($2)) || to_tsquery('simple', note_search_fold($3)))`;
const PG_QUERY = `case when $1 = '' then ${LAST_OR_PREFIX}
                  else to_tsquery('note_search', note_search_fold($1)) && ${LAST_OR_PREFIX} end`;

/** One SQL text per engine and shape; only the parameters change from call to call. */
const SQL: Record<Engine, { floor: string; first: string; after: string; count: string }> = {
  sqlite: {
    floor: `select rowid as note_id from note_search
            where note_search match ? and rowid <= ? order by rowid desc limit 1 offset ?`,
    // MATERIALIZED: bm25() only works in a query on the FTS5 table itself, never flattened into the join.
    first: `with ranked as materialized (
              select rowid as note_id, -bm25(note_search) as score from note_search
              where note_search match ? and rowid between ? and ?
              order by score desc, note_id desc limit ?)
            select ranked.score, ${NOTE_COLUMNS} from ranked
            join note on note.note_id = ranked.note_id join person on person.person_id = note.person_id
            order by ranked.score desc, ranked.note_id desc`,
    // The window is scored once, then cut after the cursor's place.
    after: `with scored as materialized (
              select rowid as note_id, -bm25(note_search) as score from note_search
              where note_search match ? and rowid between ? and ?),
            ranked as (
              select note_id, score from scored where score < ? or (score = ? and note_id < ?)
              order by score desc, note_id desc limit ?)
            select ranked.score, ${NOTE_COLUMNS} from ranked
            join note on note.note_id = ranked.note_id join person on person.person_id = note.person_id
            order by ranked.score desc, ranked.note_id desc`,
    count: "select count(*) as total from note_search where note_search match ?",
  },
  // Named statements get a generic plan after five runs. The query is made once (in `q`), not for
  // every row the plan reads, and `note_id + 0` leaves the GIN index as the way in: walking the
  // primary key through the id range took seconds for a common word.
  postgres: {
    floor: `with q as materialized (select ${PG_QUERY} as query)
            select note_id from note, q
            where search @@ q.query and note_id <= $4
            order by note_id desc offset $5 limit 1`,
    first: `with q as materialized (select ${PG_QUERY} as query),
            ranked as (
              select note_id, ts_rank(search, q.query)::float8 as score from note, q
              where search @@ q.query and note_id + 0 between $4 and $5
              order by score desc, note_id desc limit $6)
            select ranked.score, ${NOTE_COLUMNS} from ranked
            join note on note.note_id = ranked.note_id join person on person.person_id = note.person_id
            order by ranked.score desc, ranked.note_id desc`,
    after: `with q as materialized (select ${PG_QUERY} as query),
            scored as (
              select note_id, ts_rank(search, q.query)::float8 as score from note, q
              where search @@ q.query and note_id + 0 between $4 and $5),
            ranked as (
              select note_id, score from scored where (score, note_id) < ($6::float8, $7::bigint)
              order by score desc, note_id desc limit $8)
            select ranked.score, ${NOTE_COLUMNS} from ranked
            join note on note.note_id = ranked.note_id join person on person.person_id = note.person_id
            order by ranked.score desc, ranked.note_id desc`,
    count: `with q as materialized (select ${PG_QUERY} as query)
            select count(*) as total from note, q where search @@ q.query`,
  },
};

/**
 * The lowest id of the window that ends at `ceiling`: the id of the `size`-th newest match at or
 * below it, or 1 when fewer matches are left (the last window).
 */
export async function windowFloor(ex: Executor, match: NoteMatch, ceiling: number, size: number): Promise<number> {
  const row = await ex.executeQueryFirst<{ note_id: number }>(
    CompiledQuery.raw(SQL[ex.engine].floor, [...matchParameters(ex.engine, match), ceiling, size - 1]),
  );
  return row?.note_id ?? 1;
}

/** Up to `limit` matches of the window, best first (ties: newest first), after `position` if given. */
export async function rankedNotes(
  ex: Executor,
  match: NoteMatch,
  window: SearchWindow,
  limit: number,
  position?: RankedPosition,
): Promise<RankedNoteRow[]> {
  const sql = SQL[ex.engine];
  const { floor, ceiling } = window;
  const matching = matchParameters(ex.engine, match);
  const query = position
    ? ex.engine === "sqlite"
      ? CompiledQuery.raw(sql.after, [
          ...matching,
          floor,
          ceiling,
          position.score,
          position.score,
          position.noteId,
          limit,
        ])
      : CompiledQuery.raw(sql.after, [...matching, floor, ceiling, position.score, position.noteId, limit])
    : CompiledQuery.raw(sql.first, [...matching, floor, ceiling, limit]);
  return (await ex.executeQuery<RankedNoteRow>(query)).rows;
}

/**
 * SQLite: up to `max` indexed terms that begin with `start`, in order. A prefix query makes FTS5
 * merge the lists of every such term into one before it can answer, on each of a search's three
 * queries; the service asks this first to leave out a beginning that adds nothing.
 */
export async function termsStartingWith(ex: Executor, start: string, max: number): Promise<string[]> {
  const { rows } = await ex.executeQuery<{ term: string }>(
    CompiledQuery.raw("select term from note_search_vocab where term >= ? and term < ? limit ?", [
      start,
      `${start}\u{10FFFF}`,
      max,
    ]),
  );
  return rows.map((row) => row.term);
}

/** How many notes match, in all windows. */
export async function countMatches(ex: Executor, match: NoteMatch): Promise<number> {
  const row = await ex.executeQueryFirst<{ total: number }>(
    CompiledQuery.raw(SQL[ex.engine].count, matchParameters(ex.engine, match)),
  );
  return Number(row?.total ?? 0);
}

const PERSON_COLUMNS = ["person_id", "fname", "lname", "fname_key", "lname_key", "timestamp", "version"] as const;

/**
 * People whose first or last name key starts with `low`: keys from `low` up to `high` (`low`
 * followed by the highest code point). A range on the key indexes (`person_name_unique` begins with
 * fname_key, `person_list_order` with lname_key), never a LIKE pattern, so `%` and `_` are letters.
 */
const namedFrom = (db: Kysely<Database>, low: string, high: string) =>
  db
    .selectFrom("person")
    .where((eb) =>
      eb.or([
        eb.and([eb("fname_key", ">=", low), eb("fname_key", "<", high)]),
        eb.and([eb("lname_key", ">=", low), eb("lname_key", "<", high)]),
      ]),
    );

const inListOrder = (db: Kysely<Database>, low: string, high: string, limit: number) =>
  namedFrom(db, low, high)
    .select(PERSON_COLUMNS)
    .orderBy("lname_key")
    .orderBy("fname_key")
    .orderBy("person_id")
    .limit(limit);

const firstPeople = prepareQuery((db, low: string, high: string, limit: number) => inListOrder(db, low, high, limit));
const peopleAfter = prepareQuery(
  (db, low: string, high: string, lnameKey: string, fnameKey: string, personId: number, limit: number) =>
    inListOrder(db, low, high, limit).where((eb) =>
      eb(eb.refTuple("lname_key", "fname_key", "person_id"), ">", eb.tuple(lnameKey, fnameKey, personId)),
    ),
);
const peopleCount = prepareQuery((db, low: string, high: string) =>
  namedFrom(db, low, high).select((eb) => eb.fn.countAll<number>().as("total")),
);

/** Just above every key that starts with `prefix`. */
const aboveEvery = (prefix: string) => `${prefix}\u{10FFFF}`;

export async function listPeopleNamed(
  ex: Executor,
  prefix: string,
  limit: number,
  after?: PersonKey,
): Promise<PersonRow[]> {
  const high = aboveEvery(prefix);
  const result = after
    ? await peopleAfter.run(ex, prefix, high, after[0], after[1], after[2], limit)
    : await firstPeople.run(ex, prefix, high, limit);
  return result.rows;
}

export async function countPeopleNamed(ex: Executor, prefix: string): Promise<number> {
  return Number((await peopleCount.first(ex, prefix, aboveEvery(prefix)))?.total ?? 0);
}
