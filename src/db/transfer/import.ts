/**
 * Loads the checked rows of the transferred tables (tables.ts) into a store, keeping ids, versions
 * and timestamps, in one transaction: all or nothing. An empty database takes the rows as they
 * are; a non-empty one is refused, replaced (cleared first) or merged into by one rule (see
 * MERGE_RULE). Before it commits, the rows are read back and checked, as `db copy` checks its copy.
 */
import { migrateToLatest, type Store } from "../database.js";
import { isUniqueViolation, translate } from "../errors.js";
import { foldNoteCounts } from "../notes-repository.js";
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
import {
  type Counts,
  inWords,
  loose,
  noCounts,
  type Plural,
  type Row,
  type TableDescription,
  TRANSFERRED,
  type Transferred,
  type TransferredName,
  totalOf,
  transferred,
} from "./tables.js";

export const MERGE_RULE =
  "a person or note whose id the database has already is taken from the file only if the file's version is higher (a tie keeps the database's row); every other one is added; a note's person must be in the file or the database; a name held by another person in the database is refused; a note's kept version (its note and number) or a trash entry (its id) that the database has already is kept as it is there, as is the database's live person or note that a trash entry of the file holds (the entry is left out), every other one is added";

/** Clearing, then one phase per transferred table (`people`, `notes`), then verifying. */
export type ImportPhase = "clearing" | Plural | "verifying";
export type ImportMode = "empty" | "replace" | "merge";

/** A row and the line of the file it comes from, for saying where a conflict is. */
export interface Located<Item = Row> {
  row: Item;
  line: number | undefined;
}

/** Rows of one table, every column as stored (derived ones too). */
export interface ImportBatch {
  table: Transferred;
  rows: Located[];
}

export interface ImportSource {
  /** Every table's rows, parents first, each in id order; may throw (say, the file changed since it was checked). */
  batches(batchRows: number): AsyncIterable<ImportBatch>;
  /** The rows' counts and checksum: an import into an empty (or replaced) database must read back exactly these. */
  expected: RowSummary;
  /** The ids of each table that others belong to (people), as the source holds them. */
  ids: ReadonlyMap<string, ReadonlySet<number>>;
  /** By table (notes): the parents its rows name that the source does not hold, with the first line naming each. */
  outside: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

export interface ImportOptions {
  /** `empty` (the default) refuses a database that has rows. */
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
  /** What became of each table's rows. */
  tallies: Record<Plural, Tally>;
  /** What the database held before, deleted with `replace`. */
  replaced: Counts;
  /** What it holds now, read back before the commit. */
  verified: RowSummary;
  migrated: string[];
}

export class ImportRefusedError extends RefusedError {
  override name = "ImportRefusedError";
}

export class DatabaseNotEmptyError extends ImportRefusedError {
  override name = "DatabaseNotEmptyError";
  constructor(readonly held: Counts) {
    super(`the database is not empty: it has ${inWords(held)}`);
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
      const occupied = totalOf(held) > 0 || (await hasRows(write));
      if (occupied && mode === "empty") throw new DatabaseNotEmptyError(held);
      if (occupied && mode === "replace") await clear(write, held, batchRows, progress);
      const merged = occupied && mode === "merge";
      await requireOutsideParents(write, source.outside, merged);
      const tallies = Object.fromEntries(
        TRANSFERRED.map((table) => [table.plural, { added: 0, updated: 0, kept: 0 }]),
      ) as Record<Plural, Tally>;
      for await (const { table, rows } of source.batches(batchRows)) {
        const tally = tallies[table.plural];
        if (merged) await mergeRows(write, table, rows, source, tally);
        else {
          await insertAll(write, table, rowsOf(rows));
          tally.added += rows.length;
        }
        await progress({ phase: table.plural, done: tallied(tally), total: source.expected[table.plural] });
      }
      await keepIdentitiesAhead(write, tx.engine, TRANSFERRED, batchRows);
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
        tallies,
        replaced: mode === "replace" ? held : noCounts(),
        verified: found,
        migrated: applied,
      };
    });
  } catch (error) {
    throw translate(error);
  }
}

const tallied = (tally: Tally) => tally.added + tally.updated + tally.kept;
const rowsOf = <Item>(located: Located<Item>[]) => located.map(({ row }) => row);

/** Parents the rows need that are not in the file must be in the database (when merging into one). */
async function requireOutsideParents(
  write: Runner,
  outside: ReadonlyMap<string, ReadonlyMap<number, number>>,
  merged: boolean,
): Promise<void> {
  for (const child of TRANSFERRED as readonly TableDescription[]) {
    const needed = outside.get(child.name);
    const parent = child.parent && transferred(child.parent.table);
    if (!needed || needed.size === 0 || !parent) continue;
    const missing: [number, number][] = [];
    const ids = [...needed.keys()];
    for (let start = 0; start < ids.length; start += INSERT_ROWS) {
      const chunk = ids.slice(start, start + INSERT_ROWS);
      const found = merged
        ? new Set(
            (
              await write((db) => loose(db).selectFrom(parent.name).select(parent.key).where(parent.key, "in", chunk))
            ).map((row) => Number(row[parent.key])),
          )
        : new Set<number>();
      for (const id of chunk) if (!found.has(id)) missing.push([id, needed.get(id) ?? 0]);
    }
    const first = missing.sort((a, b) => a[1] - b[1])[0];
    if (first === undefined) continue;
    const [id, line] = first;
    throw new ImportConflictError(
      line || undefined,
      `a ${child.name} belongs to ${parent.name} ${id}, who is in neither the file nor the database`,
    );
  }
}

/** The database's version of each of these ids of the table that it holds. */
async function versionsOf(
  write: Runner,
  table: Transferred & { version: string },
  ids: number[],
): Promise<Map<number, number>> {
  const versions = new Map<number, number>();
  for (let start = 0; start < ids.length; start += INSERT_ROWS) {
    const chunk = ids.slice(start, start + INSERT_ROWS);
    const rows = await write((db) =>
      loose(db)
        .selectFrom(table.name)
        .select([`${table.key} as id`, `${table.version} as version`])
        .where(table.key, "in", chunk),
    );
    for (const row of rows) versions.set(Number(row.id), Number(row.version));
  }
  return versions;
}

/** What merging one table needs beyond "the higher version wins": the people's unique names. */
interface MergeRule {
  /** Update a newer row in place rather than delete it and write it again (deleting a person takes their notes). */
  inPlace: boolean;
  /** Refuses rows (to be added or to replace the database's) that conflict with the database. */
  check(write: Runner, rows: Located[], source: ImportSource): Promise<void>;
  /** Said when the database still refuses a row as a duplicate. */
  duplicate: string;
}

const MERGE_RULES: Partial<Record<TransferredName, MergeRule>> = {
  person: {
    inPlace: true,
    check: (write, rows, source) => refuseTakenNames(write, rows, source.ids.get("person") ?? new Set()),
    duplicate: "a person there has the name of another person in the database",
  },
};

/**
 * Merging a table: new ids are added, a higher version replaces the row, others are kept. A
 * replaced row is deleted and written again, so that a note that moves to another person is counted
 * for the right one, unless its rule says in place (people: deleting one would take their notes).
 */
async function mergeRows(
  write: Runner,
  table: Transferred,
  rows: Located[],
  source: ImportSource,
  tally: Tally,
): Promise<void> {
  if (!("version" in table)) return addAbsent(write, table, rows, tally);
  const versions = await versionsOf(
    write,
    table,
    rows.map(({ row }) => Number(row[table.key])),
  );
  const added: Located[] = [];
  const newer: Located[] = [];
  const written: Row[] = [];
  for (const located of rows) {
    const version = versions.get(Number(located.row[table.key]));
    if (version === undefined) added.push(located);
    else if (Number(located.row[table.version]) > version) newer.push(located);
    else tally.kept += 1;
    if (version === undefined || Number(located.row[table.version]) > version) written.push(located.row);
  }
  const rule = MERGE_RULES[table.name];
  await rule?.check(write, [...newer, ...added], source);
  const inPlace = rule?.inPlace === true;
  try {
    if (inPlace) {
      for (const { row } of newer) {
        const values = Object.fromEntries(table.columns.filter((c) => c !== table.key).map((c) => [c, row[c]]));
        await write((db) => loose(db).updateTable(table.name).set(values).where(table.key, "=", row[table.key]));
      }
      await insertAll(write, table, rowsOf(added));
    } else {
      const replaced = newer.map(({ row }) => row[table.key]);
      for (let start = 0; start < replaced.length; start += INSERT_ROWS) {
        const chunk = replaced.slice(start, start + INSERT_ROWS);
        await write((db) => loose(db).deleteFrom(table.name).where(table.key, "in", chunk));
      }
      await insertAll(write, table, written);
    }
  } catch (error) {
    if (!rule || !isUniqueViolation(error)) throw error;
    const lines = rows.map(({ line }) => line).filter((line) => line !== undefined);
    const where = lines.length > 0 ? `lines ${lines[0]}–${lines.at(-1)}: ` : "";
    throw new ImportConflictError(undefined, `${where}${rule.duplicate}`);
  }
  tally.added += added.length;
  tally.updated += newer.length;
}

/**
 * Merging a table whose rows are never changed in place (a note's kept versions, trash entries):
 * a row whose key the database holds is kept as it is there, every other one is added.
 */
async function addAbsent(write: Runner, table: TableDescription, rows: Located[], tally: Tally): Promise<void> {
  const keyOf = (row: Row) =>
    `${Number(row[table.key])}:${table.keyThen === undefined ? "" : Number(row[table.keyThen])}`;
  const ids = [...new Set(rows.map(({ row }) => Number(row[table.key])))];
  const held = new Set<string>();
  const selected = table.keyThen === undefined ? [table.key] : [table.key, table.keyThen];
  for (let start = 0; start < ids.length; start += INSERT_ROWS) {
    const chunk = ids.slice(start, start + INSERT_ROWS);
    const found = await write((db) => loose(db).selectFrom(table.name).select(selected).where(table.key, "in", chunk));
    for (const row of found) held.add(keyOf(row));
  }
  const absent = rows.filter(({ row }) => !held.has(keyOf(row)));
  const added = table.idsWithin ? await withoutLiveIds(write, table.idsWithin, absent) : absent;
  await insertAll(write, table, rowsOf(added));
  tally.added += added.length;
  tally.kept += rows.length - added.length;
}

/**
 * The rows that keep no id the database holds live: a trash entry whose note or person is live in
 * the database (restored there since the file was made, say) could never be restored, and the
 * database's live row is the one kept.
 */
async function withoutLiveIds(
  write: Runner,
  within: NonNullable<TableDescription["idsWithin"]>,
  rows: Located[],
): Promise<Located[]> {
  const wanted = new Map<string, Set<number>>();
  for (const { row } of rows) {
    for (const [name, ids] of Object.entries(within(row))) {
      const set = wanted.get(name) ?? new Set<number>();
      wanted.set(name, set);
      for (const id of ids ?? []) set.add(id);
    }
  }
  const live = new Map<string, Set<number>>();
  for (const [name, ids] of wanted) {
    const table = transferred(name);
    if (!table) continue;
    const found = new Set<number>();
    const all = [...ids];
    for (let start = 0; start < all.length; start += INSERT_ROWS) {
      const chunk = all.slice(start, start + INSERT_ROWS);
      const rows = await write((db) =>
        loose(db).selectFrom(table.name).select(table.key).where(table.key, "in", chunk),
      );
      for (const row of rows) found.add(Number(row[table.key]));
    }
    live.set(name, found);
  }
  return rows.filter(({ row }) =>
    Object.entries(within(row)).every(([name, ids]) => (ids ?? []).every((id) => !live.get(name)?.has(id))),
  );
}

/** A person of the database (not in the file, so keeping their name) who has a name a row brings. */
async function refuseTakenNames(write: Runner, rows: Located[], inFile: ReadonlySet<number>): Promise<void> {
  if (rows.length === 0) return;
  const keys = [...new Set(rows.map(({ row }) => String(row.fname_key)))];
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
