/**
 * One description per table that moves between databases: export, import, `db copy`, the backup's
 * check, the checksums, the counts and clearing read these and name no table of their own. A new
 * table of data people would back up gets its description here (and, when it is exported, its
 * record schema in the contract); a table that is deliberately left behind is named in
 * NOT_TRANSFERRED with the reason. test/db/transfer-tables.test.ts fails for a table of the migrated
 * schema that is in neither, and for a column of a described table that its description misses.
 */
import type { Kysely } from "kysely";
import type { Executor } from "../executor.js";
import { nameKey } from "../names.js";
import { countAllRevisions } from "../note-revisions-repository.js";
import { countNotes } from "../notes-repository.js";
import { countPeople } from "../people-repository.js";
import { type Database, NOTE_COLUMNS, NOTE_REVISION_COLUMNS, TRASH_ENTRY_COLUMNS } from "../schema.js";
import { searchText } from "../search-text.js";
import { countTrash } from "../trash-repository.js";

export type TableName = keyof Database;
/** The columns of the table (of any of the tables, for a union of names). */
export type ColumnOf<Name extends TableName> = Name extends TableName ? keyof Database[Name] & string : never;
/** A row as the bulk code moves it: its columns by name. */
export type Row = Record<string, unknown>;

export interface TableDescription {
  /** The table, and the `type` of its records in an export. */
  readonly name: TableName;
  /** Its rows in words: the key of its counts (`people`), its progress phase and its part of messages. */
  readonly plural: string;
  /** The id column: rows are read, written, cleared and checked in its order. */
  readonly key: string;
  /**
   * The key's second column, when one id is not enough (a note's versions: `note_id`, then
   * `version`): rows are read and checked in the order of both, and paged by both.
   */
  readonly keyThen?: string;
  /**
   * False when the key is not handed out by the database (a version's key is its note's id and
   * number): there is no identity sequence to keep ahead of loaded ids.
   */
  readonly generatedKey?: false;
  /**
   * Note history and the trash: carried unless left out (`--no-history`); absent from an export
   * that leaves them out, as from one made before they were carried, and named in messages only when
   * there are some.
   */
  readonly history?: true;
  /** Its rows in words when `plural` (a key of the counts) is not how messages say it (`trash entries`). */
  readonly said?: string;
  /**
   * The ids of other tables' rows that a row keeps inside, to be written back later (a trash
   * entry: the person and notes a restore puts back). A load keeps those tables' identities past
   * them, so the database never hands out an id a restore needs; a merge leaves out a row that
   * keeps an id the database holds live, which could never be restored.
   */
  readonly idsWithin?: (row: Row) => Partial<Record<TableName, readonly number[]>>;
  /** Every column a copy carries and a checksum covers, in checksum order. */
  readonly columns: readonly string[];
  /** Columns the database fills by itself from the others, never carried (PostgreSQL's `note.search`). */
  readonly leftToDatabase?: readonly string[];
  /**
   * Columns the service derives from the others whenever it writes a row (a note's `search_text`,
   * from its content): never carried nor checked, filled in as rows are inserted.
   */
  readonly writtenWith?: { readonly columns: readonly string[]; readonly derive: (row: Row) => Row };
  /** Raised on every change; a merge takes the row with the higher one. */
  readonly version?: string;
  /**
   * The row it belongs to: `column` holds the parent's key. Parents come before their children
   * (read, written, checked), children go first when clearing. `countedIn` is the table of kept
   * counts of children per parent (rows `(column, slot, value)`), checked after every load.
   */
  readonly parent?: { readonly table: TableName; readonly column: string; readonly countedIn?: TableName };
  /**
   * `always`; or only when the copy's option of that name is on (`withTokens`, `--with-tokens`):
   * such a table is never exported, and what is compared of it is `compared`.
   */
  readonly carried: "always" | "withTokens";
  /** How many rows it has, cheaply: transferred tables read the counts the triggers keep. */
  readonly count?: (ex: Executor) => Promise<number>;
  /**
   * Exported tables: the contract's record schema, the columns a record holds (in its key order,
   * after `type`), the text columns kept without surrounding whitespace, and the columns the
   * database derives from a record's (written on import, never exported).
   */
  readonly exported?: {
    readonly schema: string;
    readonly columns: readonly string[];
    readonly trimmed: readonly string[];
    readonly derive?: (record: Row) => Row;
  };
  /** What must be the same on both sides of a copy, when not every column (tokens: see their entry). */
  readonly compared?: (row: Row) => unknown[];
}

/** A description whose columns are the table's own (checked against src/db/schema.ts). */
type Checked<Name extends TableName> = {
  readonly key: ColumnOf<Name>;
  readonly keyThen?: ColumnOf<Name>;
  readonly columns: readonly ColumnOf<Name>[];
  readonly version?: ColumnOf<Name>;
  readonly parent?: { readonly column: ColumnOf<Name> };
  readonly exported?: { readonly columns: readonly ColumnOf<Name>[]; readonly trimmed: readonly ColumnOf<Name>[] };
};

const describe = <const Description extends TableDescription>(
  description: Description & Checked<Description["name"]>,
): Description => description;

const person = describe({
  name: "person",
  plural: "people",
  key: "person_id",
  columns: ["person_id", "fname", "lname", "fname_key", "lname_key", "timestamp", "version"],
  version: "version",
  carried: "always",
  count: countPeople,
  exported: {
    schema: "ExportPerson",
    columns: ["person_id", "fname", "lname", "timestamp", "version"],
    trimmed: ["fname", "lname"],
    derive: (record) => ({ fname_key: nameKey(String(record.fname)), lname_key: nameKey(String(record.lname)) }),
  },
});

const note = describe({
  name: "note",
  plural: "notes",
  key: "note_id",
  columns: NOTE_COLUMNS,
  leftToDatabase: ["search"],
  writtenWith: { columns: ["search_text"], derive: (row) => ({ search_text: searchText(String(row.content)) }) },
  version: "version",
  parent: { table: "person", column: "person_id", countedIn: "person_note_count" },
  carried: "always",
  count: countNotes,
  exported: {
    schema: "ExportNote",
    columns: NOTE_COLUMNS,
    trimmed: ["content"],
  },
});

/** A note's kept versions (its history): keyed by the note and the version's number, no trigger-kept count. */
const noteRevision = describe({
  name: "note_revision",
  plural: "revisions",
  key: "note_id",
  keyThen: "version",
  generatedKey: false,
  history: true,
  columns: NOTE_REVISION_COLUMNS,
  parent: { table: "note", column: "note_id" },
  carried: "always",
  count: countAllRevisions,
  exported: { schema: "ExportRevision", columns: NOTE_REVISION_COLUMNS, trimmed: [] },
});

/** The people and notes a trash entry puts back when restored (its `rows`, JSON). */
function idsInTrash(row: Row): Partial<Record<TableName, readonly number[]>> {
  const kept = JSON.parse(String(row.rows)) as {
    person?: { person_id?: unknown } | null;
    notes?: { note_id?: unknown }[];
  };
  if (typeof kept !== "object" || kept === null || !Array.isArray(kept.notes)) {
    throw new TypeError("a trash entry's rows hold no notes");
  }
  const id = (value: unknown) => {
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < 1) throw new TypeError("a trash entry keeps a row without an id");
    return number;
  };
  return {
    person: kept.person ? [id(kept.person.person_id)] : [],
    note: kept.notes.map((note) => id(note?.note_id)),
  };
}

/** The trash: each entry holds its deleted rows as JSON, carried as stored; no trigger-kept count. */
const trashEntry = describe({
  name: "trash_entry",
  plural: "trash",
  said: "trash entries",
  key: "trash_id",
  history: true,
  columns: TRASH_ENTRY_COLUMNS,
  idsWithin: idsInTrash,
  carried: "always",
  count: (ex) => countTrash(ex),
  exported: { schema: "ExportTrashEntry", columns: TRASH_ENTRY_COLUMNS, trimmed: [] },
});

const token = describe({
  name: "token",
  plural: "tokens",
  key: "token_id",
  columns: [
    "token_id",
    "prefix",
    "secret_hash",
    "name",
    "kind",
    "person_id",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
  ],
  parent: { table: "person", column: "person_id" },
  carried: "withTokens",
  // Which tokens, their secrets' hashes, kinds, persons and whether revoked: what access depends on.
  compared: (row) => [
    Number(row.token_id),
    row.secret_hash,
    row.kind,
    row.person_id === null ? null : Number(row.person_id),
    row.revoked_at !== null,
  ],
});

/** Each description by its table's name. */
export const TABLES = { person, note, note_revision: noteRevision, trash_entry: trashEntry, token } as const;

/**
 * The tables every export, import and copy carries, parents first (the trash, holding no live row,
 * last); those marked `history` are left out on request.
 */
export const TRANSFERRED = [person, note, noteRevision, trashEntry] as const;
/** Tables a copy carries only when asked. */
export const ON_REQUEST = [token] as const;
/** Every described table, parents first. */
export const DESCRIBED: readonly TableDescription[] = [...TRANSFERRED, ...ON_REQUEST];

export type Transferred = (typeof TRANSFERRED)[number];
export type TransferredName = Transferred["name"];
export type Plural = Transferred["plural"];
/** Rows per transferred table: `{ people: number; notes: number }`. */
export type Counts = Record<Plural, number>;

/**
 * Tables of the migrated schema that no transfer carries, and why: what they hold is derived from
 * the described tables (and rebuilt as those are written), or is the service's own bookkeeping.
 */
export const NOT_TRANSFERRED: Readonly<Record<string, string>> = {
  table_count: "the kept row counts: the count triggers keep them as rows are written",
  person_note_count: "each person's kept note count: kept by the same triggers",
  count_watermark: "PostgreSQL: how far the note counts are folded; a load folds them",
  change: "the change feed: loads write no changes, clients see them after a reload",
  feed_horizon: "the newest revision pruned from the change feed",
  note_search: "SQLite: the full-text index, kept by triggers from the notes and people",
  note_search_data: "SQLite: part of the full-text index",
  note_search_idx: "SQLite: part of the full-text index",
  note_search_docsize: "SQLite: part of the full-text index",
  note_search_config: "SQLite: part of the full-text index",
  note_search_vocab: "SQLite: a view of the full-text index's words",
  kysely_migration: "which migrations ran: a target is migrated by itself",
  kysely_migration_lock: "the migrations' lock",
  account: "credentials: a person signs in again on the target, through a setup or reset invite",
  account_session: "sign-ins on this server: they end with it",
  invite: "one-time links for this server: an admin makes new ones on the target",
  passkey: "credentials bound to this server's address: registered again on the target",
  webhook: "endpoints with their signing secrets, which an export must not carry: registered again on the target",
  webhook_delivery: "the recent delivery log of this server's endpoints",
  passkey_challenge: "passkey ceremonies in flight, valid for minutes",
};

/** The transferred tables a transfer carries: all, or without note history and the trash. */
export const carriedTables = (history = true): readonly Transferred[] =>
  history ? TRANSFERRED : TRANSFERRED.filter((table: TableDescription) => table.history !== true);

/** The transferred tables whose rows belong to a row of this one. */
export const childrenOf = (name: TableName): readonly TableDescription[] =>
  TRANSFERRED.filter((table: TableDescription) => table.parent?.table === name);

/** The transferred table of that name. */
export function transferred(name: string): Transferred | undefined {
  return TRANSFERRED.find((table) => table.name === name);
}

/** Counts of every transferred table, each from `count`. */
export async function countsOf(count: (table: Transferred) => Promise<number> | number): Promise<Counts> {
  const counts = {} as Counts;
  for (const table of TRANSFERRED) counts[table.plural] = await count(table);
  return counts;
}

/** Only the counts of a summary (a RowSummary without its checksum, say). */
export const countsIn = (summary: Counts): Counts =>
  Object.fromEntries(TRANSFERRED.map((table) => [table.plural, summary[table.plural]])) as Counts;

export const noCounts = (): Counts => Object.fromEntries(TRANSFERRED.map((table) => [table.plural, 0])) as Counts;

export const totalOf = (counts: Counts): number => TRANSFERRED.reduce((sum, table) => sum + counts[table.plural], 0);

export const sameCounts = (a: Counts, b: Counts): boolean =>
  TRANSFERRED.every((table) => a[table.plural] === b[table.plural]);

/** `a`, `a and b`, `a, b and c`. */
export function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The tables a message names: every one but history and the trash when there are none of those. */
const named = (counts: Counts): readonly TableDescription[] =>
  TRANSFERRED.filter((table: TableDescription) => table.history !== true || (counts[table.plural as Plural] ?? 0) > 0);

const words = (table: TableDescription) => table.said ?? table.plural;

/** `3 people and 7 notes` (`3 people, 7 notes and 12 revisions`), with numbers written by `number`. */
export const inWords = (counts: Counts, number: (n: number) => string = String): string =>
  listed(named(counts).map((table) => `${number(counts[table.plural as Plural])} ${words(table)}`));

/** `3 people, 7 notes`. */
export const inCommas = (counts: Counts, number: (n: number) => string = String): string =>
  named(counts)
    .map((table) => `${number(counts[table.plural as Plural])} ${words(table)}`)
    .join(", ");

/** `3 and 7`: the counts alone, in the same order as inWords (of `names`' tables, when given). */
export const numbersOf = (counts: Counts, number: (n: number) => string = String, names: Counts = counts): string =>
  listed(named(names).map((table) => number(counts[table.plural as Plural] ?? 0)));

/** Kysely over tables named at run time; the descriptions name only tables and columns of Database. */
export type Loose = Record<string, Row>;
export const loose = (db: Kysely<Database>): Kysely<Loose> => db as unknown as Kysely<Loose>;
