import { type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { ConstraintViolation } from "./errors.js";
import { affected, type Executor, prepareQuery } from "./executor.js";
import type { ChangedSince, Missing, Updated } from "./people-repository.js";
import type { Database } from "./schema.js";
import { searchText } from "./search-text.js";

export type NoteKey = [timestamp: string, noteId: number];

export interface NoteRow {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  version: number;
  fname: string;
  lname: string;
  person_timestamp: string;
  /** The author's version: the embedded author is part of a note's representation. */
  person_version: number;
}

type NoteQuery = SelectQueryBuilder<Database, "note" | "person", NoteRow>;

/** Notes joined with their author; the one shape every note response is made from. */
function withAuthor(db: Kysely<Database>): NoteQuery {
  return db
    .selectFrom("note")
    .innerJoin("person", "person.person_id", "note.person_id")
    .select([
      "note.note_id",
      "note.person_id",
      "note.content",
      "note.timestamp",
      "note.version",
      "person.fname",
      "person.lname",
      "person.timestamp as person_timestamp",
      "person.version as person_version",
    ]);
}

const newestFirst = (query: NoteQuery, limit: number) =>
  query.orderBy("note.timestamp", "desc").orderBy("note.note_id", "desc").limit(limit);

const before = (query: NoteQuery, timestamp: string, noteId: number) =>
  query.where((eb) => eb(eb.refTuple("note.timestamp", "note.note_id"), "<", eb.tuple(timestamp, noteId)));

const ofPerson = (db: Kysely<Database>, personId: number) => withAuthor(db).where("note.person_id", "=", personId);

const firstPage = prepareQuery((db, limit: number) => newestFirst(withAuthor(db), limit));
const pageAfter = prepareQuery((db, timestamp: string, noteId: number, limit: number) =>
  newestFirst(before(withAuthor(db), timestamp, noteId), limit),
);
const firstPageOfPerson = prepareQuery((db, personId: number, limit: number) =>
  newestFirst(ofPerson(db, personId), limit),
);
const pageOfPersonAfter = prepareQuery((db, personId: number, timestamp: string, noteId: number, limit: number) =>
  newestFirst(before(ofPerson(db, personId), timestamp, noteId), limit),
);
/**
 * On PostgreSQL the counts hold the notes up to a watermark and the rest are counted live (see
 * migration 004), so inserting a note writes no counter row; on SQLite the triggers count every note.
 */
const total = prepareQuery({
  sqlite: (db) =>
    db
      .selectFrom("table_count")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("value"), eb.lit(0)).as("total"))
      .where("name", "=", "note"),
  postgres: (db) => db.selectNoFrom(sql<number>`note_total()`.as("total")),
});
const totalOfPerson = prepareQuery({
  sqlite: (db, personId: number) =>
    db
      .selectFrom("person_note_count")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("value"), eb.lit(0)).as("total"))
      .where("person_id", "=", personId),
  postgres: (db, personId: number) => db.selectNoFrom(sql<number>`note_total_of(${personId})`.as("total")),
});
const fold = prepareQuery((db) => db.selectNoFrom(sql<number>`fold_note_counts()`.as("folded")));
const byIds = prepareQuery((db, personId: number, noteId: number) =>
  withAuthor(db).where("note.note_id", "=", noteId).where("note.person_id", "=", personId),
);
/**
 * The note, its row locked until the transaction ends (PostgreSQL; on SQLite the write
 * transaction holds the one write lock already): a change reads the version it replaces here,
 * and no other writer can replace it in between.
 */
const byIdsForChange = prepareQuery({
  sqlite: (db, personId: number, noteId: number) =>
    withAuthor(db).where("note.note_id", "=", noteId).where("note.person_id", "=", personId),
  postgres: (db, personId: number, noteId: number) =>
    withAuthor(db).where("note.note_id", "=", noteId).where("note.person_id", "=", personId).forNoKeyUpdate("note"),
});
const insert = prepareQuery((db, personId: number, content: string, searched: string, timestamp: string) =>
  db.insertInto("note").values({ person_id: personId, content, search_text: searched, timestamp }).returning("note_id"),
);
/** Changes the content only when it really changes, and only at the expected version (null: any). */
const update = prepareQuery(
  (
    db,
    personId: number,
    noteId: number,
    expectedVersion: number | null,
    content: string,
    searched: string,
    timestamp: string,
  ) =>
    db
      .updateTable("note")
      .set((eb) => ({ content, search_text: searched, timestamp, version: eb("version", "+", 1) }))
      .where("note_id", "=", noteId)
      .where("person_id", "=", personId)
      .where((eb) => eb("version", "=", eb.fn.coalesce(eb.val(expectedVersion), eb.ref("version"))))
      .where("content", "!=", content),
);
const remove = prepareQuery((db, personId: number, noteId: number, expectedVersion: number | null) =>
  db
    .deleteFrom("note")
    .where("note_id", "=", noteId)
    .where("person_id", "=", personId)
    .where("version", "=", (eb) => eb.fn.coalesce(eb.val(expectedVersion), eb.ref("version"))),
);

export async function listNotes(ex: Executor, limit: number, after?: NoteKey): Promise<NoteRow[]> {
  const result = after ? await pageAfter.run(ex, after[0], after[1], limit) : await firstPage.run(ex, limit);
  return result.rows;
}

export async function listNotesOfPerson(
  ex: Executor,
  personId: number,
  limit: number,
  after?: NoteKey,
): Promise<NoteRow[]> {
  const result = after
    ? await pageOfPersonAfter.run(ex, personId, after[0], after[1], limit)
    : await firstPageOfPerson.run(ex, personId, limit);
  return result.rows;
}

export async function countNotes(ex: Executor): Promise<number> {
  return Number((await total.first(ex))?.total ?? 0);
}

/** Read from the counts the triggers keep: as cheap for a person with a million notes as for one with none. */
export async function countNotesOfPerson(ex: Executor, personId: number): Promise<number> {
  return Number((await totalOfPerson.first(ex, personId))?.total ?? 0);
}

/** The note only if it belongs to that person. */
/**
 * Moves the notes counted live into the kept counts (PostgreSQL); returns how many it moved, 0
 * when another process is folding or there was nothing to fold. Nothing to do on SQLite.
 */
export async function foldNoteCounts(ex: Executor): Promise<number> {
  if (ex.engine !== "postgres") return 0;
  return Number((await fold.first(ex))?.folded ?? 0);
}

export function findNote(ex: Executor, personId: number, noteId: number): Promise<NoteRow | undefined> {
  return byIds.first(ex, personId, noteId);
}

/**
 * The note as a change in this transaction finds it, kept from other writers until the
 * transaction ends. Run it in the transaction of the change.
 */
export function findNoteForChange(ex: Executor, personId: number, noteId: number): Promise<NoteRow | undefined> {
  return byIdsForChange.first(ex, personId, noteId);
}

/** The new note's id, or "not-found" when there is no such person. */
export async function insertNote(
  ex: Executor,
  personId: number,
  content: string,
  timestamp: string,
): Promise<number | Missing> {
  try {
    const row = await insert.first(ex, personId, content, searchText(content), timestamp);
    if (row === undefined) throw new Error("the insert returned no row");
    return row.note_id;
  } catch (error) {
    if (error instanceof ConstraintViolation && error.kind === "foreign-key") return "not-found";
    throw error;
  }
}

/**
 * Changes the content (and the timestamp and version) only when it really changes; with an
 * expected version, only if nobody changed the note since. Returns the note as it is afterwards,
 * and whether it changed.
 * Run it in a transaction: the update and the read-back are two statements.
 */
export async function updateNote(
  ex: Executor,
  personId: number,
  noteId: number,
  content: string,
  timestamp: string,
  expectedVersion?: number,
): Promise<Updated<NoteRow> | Missing | ChangedSince> {
  const changed =
    affected(await update.run(ex, personId, noteId, expectedVersion ?? null, content, searchText(content), timestamp)) >
    0;
  const current = await findNote(ex, personId, noteId);
  if (!current) return "not-found";
  if (!changed && expectedVersion !== undefined && current.version !== expectedVersion) return "changed-since";
  return { ...current, changed };
}

/**
 * Changes the content (and the timestamp and version) only at the expected version, and only when
 * it really changes; nothing is read back. True when the note changed.
 */
export async function rewriteNote(
  ex: Executor,
  personId: number,
  noteId: number,
  expectedVersion: number,
  content: string,
  timestamp: string,
): Promise<boolean> {
  return affected(await update.run(ex, personId, noteId, expectedVersion, content, searchText(content), timestamp)) > 0;
}

/** With an expected version, the note is deleted only if nobody changed it since. */
export async function deleteNote(
  ex: Executor,
  personId: number,
  noteId: number,
  expectedVersion?: number,
): Promise<boolean> {
  return affected(await remove.run(ex, personId, noteId, expectedVersion ?? null)) > 0;
}
