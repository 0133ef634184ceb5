import { type RawBuilder, type Selectable, sql } from "kysely";
import { ConstraintViolation } from "./errors.js";
import { affected, type Build, type Executor, prepareQuery } from "./executor.js";
import { findPerson, type NameTaken, type PersonRow } from "./people-repository.js";
import {
  type ChangedBy,
  type Database,
  type Engine,
  NOTE_COLUMNS,
  NOTE_REVISION_COLUMNS,
  type NoteRevisionTable,
  TRASH_ENTRY_COLUMNS,
  type TrashEntryTable,
} from "./schema.js";
import { searchText } from "./search-text.js";

/** A deleted note, as stored (its search text is made again from the content on restore). */
export interface TrashedNote {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  version: number;
}

/** What a trash entry holds: everything a restore writes back. */
export interface TrashRows {
  /** A deleted person, as read (the name keys are made again from the names on restore). */
  person: PersonRow | null;
  notes: TrashedNote[];
  revisions: NoteRevisionTable[];
}

/** An entry as listed: without its rows. */
export type TrashEntryRow = Omit<Selectable<TrashEntryTable>, "rows">;

/** An entry with its rows, as a restore reads it. */
export interface FullTrashEntry extends TrashEntryRow {
  rows: TrashRows;
}

export type NewTrashEntry = Omit<FullTrashEntry, "trash_id">;

type ListedColumn = Exclude<(typeof TRASH_ENTRY_COLUMNS)[number], "rows">;
const ENTRY_COLUMNS = TRASH_ENTRY_COLUMNS.filter((column): column is ListedColumn => column !== "rows");

/**
 * Every note of the person, oldest first (the order of the index on the person's notes, so nothing
 * is sorted): on PostgreSQL their rows locked until the transaction ends, so
 * a change to one of them waits for the person's deletion (and then finds the note gone) instead
 * of landing after the trash has kept the note as it was.
 */
const notesOfPerson = prepareQuery({
  sqlite: (db, personId: number) =>
    db
      .selectFrom("note")
      .select(NOTE_COLUMNS)
      .where("person_id", "=", personId)
      .orderBy("timestamp")
      .orderBy("note_id"),
  postgres: (db, personId: number) =>
    db
      .selectFrom("note")
      .select(NOTE_COLUMNS)
      .where("person_id", "=", personId)
      .orderBy("timestamp")
      .orderBy("note_id")
      .forUpdate(),
});
const revisionsOfNote = prepareQuery((db, noteId: number) =>
  db.selectFrom("note_revision").select(NOTE_REVISION_COLUMNS).where("note_id", "=", noteId).orderBy("version"),
);
const revisionsOfPerson = prepareQuery((db, personId: number) =>
  db
    .selectFrom("note_revision as r")
    .innerJoin("note as n", "n.note_id", "r.note_id")
    .select(NOTE_REVISION_COLUMNS.map((column) => `r.${column}` as const))
    .where("n.person_id", "=", personId)
    .orderBy("n.timestamp")
    .orderBy("n.note_id")
    .orderBy("r.version"),
);

const insertEntry = prepareQuery(
  (
    db,
    kind: "note" | "person",
    personId: number,
    noteId: number | null,
    fname: string,
    lname: string,
    content: string | null,
    notes: number,
    rows: string,
    deletedAt: string,
  ) =>
    db
      .insertInto("trash_entry")
      .values({
        kind,
        person_id: personId,
        note_id: noteId,
        fname,
        lname,
        content,
        notes,
        rows,
        deleted_at: deletedAt,
      })
      .returning("trash_id"),
);

// The newest first; `before` is the last id of the previous page. A person's list reads their index.
const page = prepareQuery((db, before: number, limit: number) =>
  db
    .selectFrom("trash_entry")
    .select(ENTRY_COLUMNS)
    .where("trash_id", "<", before)
    .orderBy("trash_id", "desc")
    .limit(limit),
);
const pageOfPerson = prepareQuery((db, personId: number, before: number, limit: number) =>
  db
    .selectFrom("trash_entry")
    .select(ENTRY_COLUMNS)
    .where("person_id", "=", personId)
    .where("trash_id", "<", before)
    .orderBy("trash_id", "desc")
    .limit(limit),
);
// The trash is small (what was deleted in the last weeks): counting it is cheap.
const total = prepareQuery((db) => db.selectFrom("trash_entry").select((eb) => eb.fn.countAll<number>().as("total")));
const totalOfPerson = prepareQuery((db, personId: number) =>
  db
    .selectFrom("trash_entry")
    .select((eb) => eb.fn.countAll<number>().as("total"))
    .where("person_id", "=", personId),
);
const byId = prepareQuery((db, trashId: number) =>
  db.selectFrom("trash_entry").select(ENTRY_COLUMNS).where("trash_id", "=", trashId),
);
/** With its rows; on PostgreSQL locked, so of two restores (or a restore and a purge) one finds it gone. */
const byIdForRestore = prepareQuery({
  sqlite: (db, trashId: number) =>
    db.selectFrom("trash_entry").select(ENTRY_COLUMNS).select("rows").where("trash_id", "=", trashId),
  postgres: (db, trashId: number) =>
    db.selectFrom("trash_entry").select(ENTRY_COLUMNS).select("rows").where("trash_id", "=", trashId).forUpdate(),
});
const personEntry = prepareQuery((db, personId: number) =>
  db
    .selectFrom("trash_entry")
    .select("trash_id")
    .where("person_id", "=", personId)
    .where("kind", "=", "person")
    .limit(1),
);
const remove = prepareQuery((db, trashId: number) => db.deleteFrom("trash_entry").where("trash_id", "=", trashId));
/** A person purged for good takes the entries of their notes deleted before them: nothing could restore those. */
const removeNotesOfPerson = prepareQuery((db, personId: number) =>
  db.deleteFrom("trash_entry").where("person_id", "=", personId).where("kind", "=", "note"),
);
const expired = prepareQuery((db, cutoff: string, limit: number) =>
  db
    .selectFrom("trash_entry")
    .select(["trash_id", "kind", "person_id"])
    .where("deleted_at", "<", cutoff)
    .orderBy("deleted_at")
    .orderBy("trash_id")
    .limit(limit),
);
/** One purger at a time on a PostgreSQL database, whatever the number of processes: the others skip their turn. */
const purgeTurn = prepareQuery((db) =>
  db.selectNoFrom(sql<boolean>`pg_try_advisory_xact_lock(hashtext(current_schema() || '.purge_trash'))`.as("mine")),
);

const insertPerson = prepareQuery(
  (
    db,
    personId: number,
    fname: string,
    lname: string,
    fnameKey: string,
    lnameKey: string,
    timestamp: string,
    version: number,
  ) =>
    db.insertInto("person").values({
      person_id: personId,
      fname,
      lname,
      fname_key: fnameKey,
      lname_key: lnameKey,
      timestamp,
      version,
    }),
);

type FieldType = "id" | "text" | "time";

/** A field of each element of a JSON array parameter, as the engine reads it. */
function field(engine: Engine, name: string, type: FieldType): RawBuilder<unknown> {
  if (engine === "sqlite") return sql`json_extract(r.value, ${sql.lit(`$.${name}`)})`;
  const cast = type === "id" ? sql.raw("bigint") : type === "time" ? sql.raw("timestamptz") : sql.raw("text");
  return sql`(r.value ->> ${sql.lit(name)})::${cast}`;
}

/** Rows from one JSON array parameter: the SQL is the same whatever their number. */
const elements = (engine: Engine, json: unknown) =>
  engine === "sqlite" ? sql`json_each(${json})`.as("r") : sql`jsonb_array_elements(${json}::jsonb)`.as("r");

/** The same query shape on both engines, built for each with the engine's way of reading JSON. */
const onEachEngine = <Args extends unknown[], Row>(build: (engine: Engine) => Build<Args, Row>) =>
  prepareQuery({ sqlite: build("sqlite"), postgres: build("postgres") });

/**
 * Inserts the rows of one JSON array parameter into the table: every column (a column the table
 * gains must be named here too) from the field of its name, read as its type.
 */
const insertFromJson = <Table extends "note" | "note_revision">(
  table: Table,
  columns: { readonly [Column in keyof Database[Table] & string]: FieldType },
) =>
  onEachEngine(
    (engine) => (db, json: string) =>
      db
        .insertInto(table)
        .columns(Object.keys(columns) as never)
        .expression(
          db
            .selectFrom(elements(engine, json))
            .select(Object.entries(columns).map(([name, type]) => field(engine, name, type).as(name))) as never,
        ),
  );

const insertNotes = insertFromJson("note", {
  note_id: "id",
  person_id: "id",
  content: "text",
  search_text: "text",
  timestamp: "time",
  version: "id",
});
const insertRevisions = insertFromJson("note_revision", {
  note_id: "id",
  version: "id",
  content: "text",
  timestamp: "time",
  changed_by: "text",
  changed_by_person_id: "id",
});
/** The first live note among the notes of a JSON array, with its person's names. */
const liveNote = onEachEngine(
  (engine) => (db, json: string) =>
    db
      .selectFrom("note as n")
      .innerJoin("person as p", "p.person_id", "n.person_id")
      .select(["n.note_id", "n.person_id", "p.fname", "p.lname"])
      .where(
        "n.note_id",
        "in",
        db.selectFrom(elements(engine, json)).select(field(engine, "note_id", "id").as("id")) as never,
      )
      .orderBy("n.note_id")
      .limit(1),
);

/** Rows per statement of a restore: each is one JSON parameter, kept to a few megabytes. */
const RESTORE_BATCH = 1000;

function* batches<T>(items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += RESTORE_BATCH) yield items.slice(start, start + RESTORE_BATCH);
}

/** The person's notes, by id (locked on PostgreSQL), and their kept versions: what their deletion keeps. */
export async function rowsOfPerson(
  ex: Executor,
  personId: number,
): Promise<{ notes: TrashedNote[]; revisions: NoteRevisionTable[] }> {
  const notes = (await notesOfPerson.run(ex, personId)).rows;
  const revisions = (await revisionsOfPerson.run(ex, personId)).rows;
  return { notes, revisions };
}

/** The note's kept versions, oldest first. */
export async function revisionsOf(ex: Executor, noteId: number): Promise<NoteRevisionTable[]> {
  return (await revisionsOfNote.run(ex, noteId)).rows;
}

/** Puts an entry in the trash; returns its id. Run it in the transaction that deletes its rows. */
export async function insertTrashEntry(ex: Executor, entry: NewTrashEntry): Promise<number> {
  const row = await insertEntry.first(
    ex,
    entry.kind,
    entry.person_id,
    entry.note_id,
    entry.fname,
    entry.lname,
    entry.content,
    entry.notes,
    JSON.stringify(entry.rows),
    entry.deleted_at,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return Number(row.trash_id);
}

const asEntry = (row: TrashEntryRow): TrashEntryRow => ({
  ...row,
  trash_id: Number(row.trash_id),
  person_id: Number(row.person_id),
  note_id: row.note_id === null ? null : Number(row.note_id),
  notes: Number(row.notes),
});

/** Entries newest first, below the id `before`; only a person's when `personId` is given. */
export async function listTrash(
  ex: Executor,
  limit: number,
  before: number,
  personId?: number,
): Promise<TrashEntryRow[]> {
  const result =
    personId === undefined ? await page.run(ex, before, limit) : await pageOfPerson.run(ex, personId, before, limit);
  return result.rows.map(asEntry);
}

export async function countTrash(ex: Executor, personId?: number): Promise<number> {
  const row = personId === undefined ? await total.first(ex) : await totalOfPerson.first(ex, personId);
  return Number(row?.total ?? 0);
}

export async function findTrashEntry(ex: Executor, trashId: number): Promise<TrashEntryRow | undefined> {
  const row = await byId.first(ex, trashId);
  return row && asEntry(row);
}

/** The entry with its rows, kept from other restores and purges until the transaction ends. */
export async function findTrashEntryForRestore(ex: Executor, trashId: number): Promise<FullTrashEntry | undefined> {
  const row = await byIdForRestore.first(ex, trashId);
  if (!row) return undefined;
  const { rows, ...entry } = row;
  return { ...asEntry(entry), rows: JSON.parse(rows) as TrashRows };
}

/** Whether the person is in the trash (deleted, and neither restored nor purged). */
export async function personInTrash(ex: Executor, personId: number): Promise<boolean> {
  return (await personEntry.first(ex, personId)) !== undefined;
}

/** A person or a note of the database has an id that an entry keeps (an import put it there, say). */
export type IdTaken = "id-taken";

/** A live row under an id that an entry keeps: the person, or the note with its person's names. */
export type IdHolder =
  | { kind: "person"; person_id: number; fname: string; lname: string }
  | { kind: "note"; note_id: number; person_id: number; fname: string; lname: string };

/** The live row that holds one of the ids the entry keeps (its person's first), if any. */
export async function holderOfIds(ex: Executor, rows: TrashRows): Promise<IdHolder | undefined> {
  const person = rows.person && (await findPerson(ex, rows.person.person_id));
  if (person) return { kind: "person", person_id: person.person_id, fname: person.fname, lname: person.lname };
  for (const notes of batches(rows.notes)) {
    const note = await liveNote.first(ex, JSON.stringify(notes.map(({ note_id }) => ({ note_id }))));
    if (note) return { kind: "note", ...note, note_id: Number(note.note_id), person_id: Number(note.person_id) };
  }
  return undefined;
}

const idTaken = (error: unknown) =>
  error instanceof ConstraintViolation && (error.constraint === "person_pkey" || error.constraint === "note_pkey");

/**
 * Writes the entry's rows back under their own ids: the person (when it is a person's entry),
 * the notes, their kept versions. "duplicate-name" when someone else has the person's names now,
 * "id-taken" when a live row has one of the ids (`holderOfIds` says which). Either leaves the
 * transaction to be rolled back. Run it in the transaction that removes the entry.
 */
export async function writeBack(ex: Executor, rows: TrashRows): Promise<undefined | NameTaken | IdTaken> {
  const { person } = rows;
  if (person) {
    try {
      await insertPerson.run(
        ex,
        person.person_id,
        person.fname,
        person.lname,
        person.fname_key,
        person.lname_key,
        person.timestamp,
        person.version,
      );
    } catch (error) {
      if (error instanceof ConstraintViolation && error.constraint === "person_name_unique") return "duplicate-name";
      if (idTaken(error)) return "id-taken";
      throw error;
    }
  }
  for (const notes of batches(rows.notes)) {
    const json = notes.map((note) => ({ ...note, search_text: searchText(note.content) }));
    try {
      await insertNotes.run(ex, JSON.stringify(json));
    } catch (error) {
      if (idTaken(error)) return "id-taken";
      throw error;
    }
  }
  for (const revisions of batches(rows.revisions)) {
    await insertRevisions.run(ex, JSON.stringify(revisions));
  }
  return undefined;
}

/** Removes the entry (restored, or purged); a person's takes their notes' entries with it. */
export async function removeTrashEntry(
  ex: Executor,
  entry: { trash_id: number; kind: "note" | "person"; person_id: number },
  withNotesOfPerson: boolean,
): Promise<boolean> {
  const removed = affected(await remove.run(ex, entry.trash_id)) > 0;
  if (removed && withNotesOfPerson && entry.kind === "person") await removeNotesOfPerson.run(ex, entry.person_id);
  return removed;
}

/**
 * Purges up to `limit` entries deleted before `cutoff` (and, with a person's, their notes'
 * entries); returns how many entries went. On PostgreSQL only one transaction at a time purges:
 * another one finds the turn taken and purges nothing. Run it in a transaction.
 */
export async function purgeExpired(ex: Executor, cutoff: string, limit: number): Promise<number> {
  if (ex.engine === "postgres") {
    const turn = await purgeTurn.first(ex);
    if (!turn?.mine) return 0;
  }
  let purged = 0;
  for (const entry of (await expired.run(ex, cutoff, limit)).rows) {
    const removed = affected(await remove.run(ex, entry.trash_id));
    purged += removed;
    if (removed > 0 && entry.kind === "person") {
      purged += affected(await removeNotesOfPerson.run(ex, Number(entry.person_id)));
    }
  }
  return purged;
}

export type { ChangedBy };
