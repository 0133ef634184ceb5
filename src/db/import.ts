/**
 * Loads checked people and notes into a store, keeping ids, versions and timestamps, in one
 * transaction: all or nothing. An empty database takes the rows as they are; a non-empty one is
 * refused, replaced (cleared first) or merged into by one rule (see MERGE_RULE). Before it commits,
 * the rows are read back and checked, as `db copy` checks its copy.
 */
import {
  clear,
  DEFAULT_BATCH_ROWS,
  hasRows,
  INSERT_ROWS,
  insertAll,
  keepIdentitiesAhead,
  keptCounts,
  onExecutor,
  type Progress,
  RefusedError,
  type RowSummary,
  type Runner,
  requireSchema,
  VerificationError,
  verifyLoad,
} from "./bulk.js";
import { migrateToLatest, type Store } from "./database.js";
import { isUniqueViolation, translate } from "./errors.js";
import { foldNoteCounts } from "./notes-repository.js";
import type { PersonRow } from "./people-repository.js";

export const MERGE_RULE =
  "a person or note whose id the database has already is taken from the file only if the file's version is higher (a tie keeps the database's row); every other one is added; a note's person must be in the file or the database; a name held by another person in the database is refused";

export type ImportPhase = "clearing" | "people" | "notes" | "verifying";
export type ImportMode = "empty" | "replace" | "merge";

/** A person as a file holds it: every column, as stored. */
export type ImportPerson = PersonRow;

export interface ImportNote {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  version: number;
}

/** A row and the line of the file it comes from, for saying where a conflict is. */
export interface Located<Row> {
  row: Row;
  line: number | undefined;
}

export type ImportBatch =
  | { kind: "person"; rows: Located<ImportPerson>[] }
  | { kind: "note"; rows: Located<ImportNote>[] };

export interface ImportSource {
  /** Every person, then every note, each in id order; may throw (say, the file changed since it was checked). */
  batches(batchRows: number): AsyncIterable<ImportBatch>;
  /** The rows' counts and checksum: an import into an empty (or replaced) database must read back exactly these. */
  expected: RowSummary;
  /** Every person id the source holds. */
  personIds: Set<number>;
  /** Persons that notes name and the source does not hold, with the first line naming each. */
  outsidePeople: Map<number, number>;
}

export interface ImportOptions {
  /** `empty` (the default) refuses a database with people or notes. */
  mode?: ImportMode;
  batchRows?: number;
  /** Called (and awaited) after every batch. Throwing from it aborts the import, which then rolls back. */
  onProgress?: Progress<ImportPhase>;
}

export interface Tally {
  added: number;
  updated: number;
  kept: number;
}

export interface ImportReport {
  /** Whether rows were merged into existing ones (`merge` on a database that had some). */
  merged: boolean;
  people: Tally;
  notes: Tally;
  /** What the database held before, deleted with `replace`. */
  replaced: { people: number; notes: number };
  /** What it holds now, read back before the commit. */
  verified: RowSummary;
  migrated: string[];
}

export class ImportRefusedError extends RefusedError {
  override name = "ImportRefusedError";
}

export class DatabaseNotEmptyError extends ImportRefusedError {
  override name = "DatabaseNotEmptyError";
  constructor(readonly held: { people: number; notes: number }) {
    super(`the database is not empty: it has ${held.people} people and ${held.notes} notes`);
  }
}

/** The rows conflict with the database (merging); `line` is the file's line when it is known. */
export class ImportConflictError extends ImportRefusedError {
  override name = "ImportConflictError";
  constructor(
    readonly line: number | undefined,
    detail: string,
  ) {
    super(line === undefined ? detail : `line ${line}: ${detail}`);
  }
}

export class ImportVerificationError extends VerificationError {
  override name = "ImportVerificationError";
}

export async function importRows(
  store: Store,
  source: ImportSource,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError("batchRows must be a whole number ≥ 1");
  const progress = options.onProgress ?? (() => {});
  const mode = options.mode ?? "empty";
  try {
    await requireSchema(store);
    const { applied } = await migrateToLatest(store);
    return await store.transaction(async (tx) => {
      const write = onExecutor(tx, store.db);
      const held = await keptCounts(tx);
      const occupied = held.people > 0 || held.notes > 0 || (await hasRows(write));
      if (occupied && mode === "empty") throw new DatabaseNotEmptyError(held);
      if (occupied && mode === "replace") await clear(write, held, batchRows, progress);
      const merged = occupied && mode === "merge";
      await requireOutsidePeople(write, source.outsidePeople, merged);
      const people: Tally = { added: 0, updated: 0, kept: 0 };
      const notes: Tally = { added: 0, updated: 0, kept: 0 };
      for await (const batch of source.batches(batchRows)) {
        if (batch.kind === "person") {
          if (merged) await mergePeople(write, batch.rows, source.personIds, people);
          else await insertPeople(write, batch.rows, people);
          await progress({ phase: "people", done: tallied(people), total: source.expected.people });
        } else {
          if (merged) await mergeNotes(write, batch.rows, notes);
          else {
            await insertAll(write, rowsOf(batch.rows), (chunk) => (db) => db.insertInto("note").values(chunk));
            notes.added += batch.rows.length;
          }
          await progress({ phase: "notes", done: tallied(notes), total: source.expected.notes });
        }
      }
      await keepIdentitiesAhead(write, tx.engine);
      // The loaded notes leave the database counted in full rather than counted live.
      await foldNoteCounts(tx);
      const { found, problems } = await verifyLoad(
        tx,
        write,
        merged ? undefined : source.expected,
        batchRows,
        progress,
        "the file",
      );
      if (problems.length > 0) {
        throw new ImportVerificationError(`verification failed, nothing was imported: ${problems.join("; ")}`);
      }
      return {
        merged,
        people,
        notes,
        replaced: mode === "replace" ? held : { people: 0, notes: 0 },
        verified: found,
        migrated: applied,
      };
    });
  } catch (error) {
    throw translate(error);
  }
}

const tallied = (tally: Tally) => tally.added + tally.updated + tally.kept;
const rowsOf = <Row>(located: Located<Row>[]) => located.map(({ row }) => row);

/** Persons the notes need that are not in the file must be in the database (when merging into one). */
async function requireOutsidePeople(write: Runner, outside: Map<number, number>, merged: boolean): Promise<void> {
  if (outside.size === 0) return;
  const missing: [number, number][] = [];
  const ids = [...outside.keys()];
  for (let start = 0; start < ids.length; start += INSERT_ROWS) {
    const chunk = ids.slice(start, start + INSERT_ROWS);
    const found = merged
      ? new Set(
          (await write((db) => db.selectFrom("person").select("person_id").where("person_id", "in", chunk))).map(
            (row) => Number(row.person_id),
          ),
        )
      : new Set<number>();
    for (const id of chunk) if (!found.has(id)) missing.push([id, outside.get(id) ?? 0]);
  }
  const first = missing.sort((a, b) => a[1] - b[1])[0];
  if (first === undefined) return;
  const [person, line] = first;
  throw new ImportConflictError(
    line || undefined,
    `a note belongs to person ${person}, who is in neither the file nor the database`,
  );
}

async function insertPeople(write: Runner, rows: Located<ImportPerson>[], tally: Tally): Promise<void> {
  await insertAll(write, rowsOf(rows), (chunk) => (db) => db.insertInto("person").values(chunk));
  tally.added += rows.length;
}

async function versionsOf(write: Runner, table: "person" | "note", ids: number[]): Promise<Map<number, number>> {
  const versions = new Map<number, number>();
  for (let start = 0; start < ids.length; start += INSERT_ROWS) {
    const chunk = ids.slice(start, start + INSERT_ROWS);
    const rows =
      table === "person"
        ? await write((db) =>
            db.selectFrom("person").select(["person_id as id", "version"]).where("person_id", "in", chunk),
          )
        : await write((db) => db.selectFrom("note").select(["note_id as id", "version"]).where("note_id", "in", chunk));
    for (const row of rows) versions.set(Number(row.id), Number(row.version));
  }
  return versions;
}

/**
 * Merging people: new ids are added, a higher version replaces the row in place (a person is
 * never deleted, which would take their notes), others are kept. A name another person of the
 * database holds is refused with the line that brings it.
 */
async function mergePeople(
  write: Runner,
  rows: Located<ImportPerson>[],
  inFile: Set<number>,
  tally: Tally,
): Promise<void> {
  const versions = await versionsOf(
    write,
    "person",
    rows.map(({ row }) => row.person_id),
  );
  const added: Located<ImportPerson>[] = [];
  const updated: Located<ImportPerson>[] = [];
  for (const located of rows) {
    const version = versions.get(located.row.person_id);
    if (version === undefined) added.push(located);
    else if (located.row.version > version) updated.push(located);
    else tally.kept += 1;
  }
  await refuseTakenNames(write, [...updated, ...added], inFile);
  try {
    for (const { row } of updated) {
      await write((db) =>
        db
          .updateTable("person")
          .set({
            fname: row.fname,
            lname: row.lname,
            fname_key: row.fname_key,
            lname_key: row.lname_key,
            timestamp: row.timestamp,
            version: row.version,
          })
          .where("person_id", "=", row.person_id),
      );
    }
    await insertAll(write, rowsOf(added), (chunk) => (db) => db.insertInto("person").values(chunk));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const lines = rows.map(({ line }) => line).filter((line) => line !== undefined);
    const where = lines.length > 0 ? `lines ${lines[0]}–${lines.at(-1)}: ` : "";
    throw new ImportConflictError(undefined, `${where}a person there has the name of another person in the database`);
  }
  tally.added += added.length;
  tally.updated += updated.length;
}

/** A person of the database (not in the file, so keeping their name) who has a name a row brings. */
async function refuseTakenNames(write: Runner, rows: Located<ImportPerson>[], inFile: Set<number>): Promise<void> {
  if (rows.length === 0) return;
  const keys = [...new Set(rows.map(({ row }) => row.fname_key))];
  const holders = new Map<string, number>();
  for (let start = 0; start < keys.length; start += INSERT_ROWS) {
    const chunk = keys.slice(start, start + INSERT_ROWS);
    const found = await write((db) =>
      db.selectFrom("person").select(["person_id", "fname_key", "lname_key"]).where("fname_key", "in", chunk),
    );
    for (const row of found) holders.set(`${row.fname_key}\u0000${row.lname_key}`, Number(row.person_id));
  }
  for (const { row, line } of rows) {
    const holder = holders.get(`${row.fname_key}\u0000${row.lname_key}`);
    if (holder !== undefined && holder !== row.person_id && !inFile.has(holder)) {
      throw new ImportConflictError(
        line,
        `person ${row.person_id} (${row.fname} ${row.lname}) has the name of person ${holder} in the database`,
      );
    }
  }
}

/**
 * Merging notes: new ids are added, a higher version replaces the row (deleted and written again,
 * so that a note that moves to another person is counted for the right one), others are kept.
 */
async function mergeNotes(write: Runner, rows: Located<ImportNote>[], tally: Tally): Promise<void> {
  const versions = await versionsOf(
    write,
    "note",
    rows.map(({ row }) => row.note_id),
  );
  const written: ImportNote[] = [];
  const replaced: number[] = [];
  for (const { row } of rows) {
    const version = versions.get(row.note_id);
    if (version === undefined) {
      written.push(row);
      tally.added += 1;
    } else if (row.version > version) {
      written.push(row);
      replaced.push(row.note_id);
      tally.updated += 1;
    } else {
      tally.kept += 1;
    }
  }
  for (let start = 0; start < replaced.length; start += INSERT_ROWS) {
    const chunk = replaced.slice(start, start + INSERT_ROWS);
    await write((db) => db.deleteFrom("note").where("note_id", "in", chunk));
  }
  await insertAll(write, written, (chunk) => (db) => db.insertInto("note").values(chunk));
}
