/**
 * The export format and its rules. An export is every row of the transferred tables as stored
 * (src/db/transfer/tables.ts: today people and notes, with ids, versions, timestamps), table by table
 * in the order of their descriptions and each by id, one canonical JSON record each, so exporting
 * what an import loaded gives the same bytes. Tokens are never part of it.
 *
 * NDJSON: an `export` header line, a line per row (`type` is its table: `person`, `note`), and an
 * `end` line with the counts (a file without it was cut short). JSON:
 * `{"format_version":1,"people":[…],"notes":[…]}`, an array per table under its plural, with the
 * same records, one a line. Both are checked against the contract's schemas (ExportHeader, each
 * table's record schema, ExportEnd, ExportDocument) and then against the rules below before
 * anything is written.
 */
import type { ValidateFunction } from "ajv/dist/2020.js";
import type { components } from "../../openapi/types.js";
import { describeValidationErrors } from "../contract/errors.js";
import { componentSchemas, contractAjv } from "../contract/schemas.js";
import type { Store } from "../db/database.js";
import { RowDigest, type RowSummary } from "../db/transfer/bulk.js";
import { type ExportBatch, exportBatches } from "../db/transfer/export.js";
import {
  type Counts,
  carriedTables,
  childrenOf,
  inWords,
  noCounts,
  numbersOf,
  type Row,
  TRANSFERRED,
  type Transferred,
  transferred,
} from "../db/transfer/tables.js";
import { cleanText } from "./names.js";

export type ExportHeader = components["schemas"]["ExportHeader"];
export type ExportEnd = components["schemas"]["ExportEnd"];
export type ExportFormat = "json" | "ndjson";

export const FORMAT_VERSION = 1;
export const EXPORT_FORMATS: readonly ExportFormat[] = ["json", "ndjson"];

/**
 * The contract's schemas for records, with the request bodies' Ajv settings but without `x-trim`:
 * a record is checked as it is, and one whose name or content is not in its stored form fails the
 * rules below rather than being trimmed into it. Compiled on first use.
 */
let schemas: ((name: string) => ValidateFunction) | undefined;
const schema = (name: string): ValidateFunction => {
  schemas ??= componentSchemas(contractAjv());
  return schemas(name);
};

/** A record (or the file) breaks the format; `line` is where, when it is known. */
export class ExportFileError extends Error {
  override name = "ExportFileError";
  constructor(
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(line === undefined ? detail : `line ${line}: ${detail}`);
  }
}

// Serializing: a fixed key order, so the same rows always give the same bytes.

export const headerRecord = (): ExportHeader => ({ type: "export", format_version: FORMAT_VERSION });

/** A row's record: its table's name as `type`, then the exported columns in the description's order. */
export function recordOf(table: Transferred, row: Row): Row {
  const record: Row = { type: table.name };
  for (const column of table.exported.columns) record[column] = row[column];
  return record;
}

/** The end record: the counts of the tables the export carries. */
const endRecord = (counts: Counts, tables: readonly Transferred[]): ExportEnd =>
  ({ type: "end", ...Object.fromEntries(tables.map((table) => [table.plural, counts[table.plural]])) }) as ExportEnd;

const lines = (batch: ExportBatch): string =>
  batch.rows.map((row) => JSON.stringify(recordOf(batch.table, row))).join("\n");

/** The NDJSON export, a chunk of lines per batch; `history` false when the batches leave history and the trash out. */
export async function* ndjsonChunks(batches: AsyncIterable<ExportBatch>, history = true): AsyncGenerator<string> {
  yield `${JSON.stringify(headerRecord())}\n`;
  const counts = noCounts();
  for await (const batch of batches) {
    if (batch.rows.length === 0) continue;
    counts[batch.table.plural] += batch.rows.length;
    yield `${lines(batch)}\n`;
  }
  yield `${JSON.stringify(endRecord(counts, carriedTables(history)))}\n`;
}

/** The JSON export: one document, each table's records in an array under its plural, each record on a line of its own. */
export async function* jsonChunks(batches: AsyncIterable<ExportBatch>, history = true): AsyncGenerator<string> {
  yield `{"format_version":${FORMAT_VERSION}`;
  const tables = carriedTables(history);
  let section = -1;
  let first = true;
  const open = (index: number) => `,"${tables[index]?.plural}":[`;
  for await (const batch of batches) {
    if (batch.rows.length === 0) continue;
    const index = tables.indexOf(batch.table);
    for (; section < index; first = true) {
      section += 1;
      yield `${section > 0 ? "\n]" : ""}${open(section)}`;
    }
    yield `${first ? "\n" : ",\n"}${lines(batch).replaceAll("\n", ",\n")}`;
    first = false;
  }
  for (; section < tables.length - 1; ) {
    section += 1;
    yield `${section > 0 ? "\n]" : ""}${open(section)}`;
  }
  yield "\n]}\n";
}

/**
 * The server's export: NDJSON from one snapshot, in small batches with a turn of the event loop
 * between them. The snapshot is opened and the first batch read before anything is sent, so a
 * database that does not answer is an ordinary error response rather than a cut-off body.
 */
export class ExportService {
  constructor(private readonly store: Store) {}

  /**
   * The chunks, and `close` to end the snapshot whether or not they were read to the end; `history`
   * false leaves note history and the trash out.
   */
  async ndjson(history = true): Promise<{ chunks: AsyncGenerator<string>; close: () => Promise<void> }> {
    const batches = exportBatches(this.store, { yieldBetweenBatches: true, history });
    const first = await batches.next();
    async function* all(): AsyncGenerator<ExportBatch> {
      if (first.done) return;
      yield first.value;
      yield* batches;
    }
    return {
      chunks: ndjsonChunks(all(), history),
      close: async () => {
        await batches.return(undefined);
      },
    };
  }
}

// Checking.

/** A record's row as it is written to the database: the record's fields and the columns derived from them. */
export function rowOf(table: Transferred, record: Row): Row {
  const row: Row = {};
  for (const column of table.exported.columns) row[column] = record[column];
  const derived: Row = "derive" in table.exported ? table.exported.derive(record) : {};
  const complete: Row = {};
  for (const column of table.columns) complete[column] = column in row ? row[column] : derived[column];
  return complete;
}

/** A checked record's table and row; undefined for the header and end. */
export function tableRowOf(record: Row): { table: Transferred; row: Row } | undefined {
  const table = transferred(String(record.type));
  return table && { table, row: rowOf(table, record) };
}

/** What a checked file holds, for loading it. */
export interface CheckedFile {
  /** Counts and SHA-256 of the rows the file makes, as db copy computes them: a load must read back the same. */
  expected: RowSummary;
  /** The ids of each table that others belong to (people), as the file holds them. */
  ids: ReadonlyMap<string, ReadonlySet<number>>;
  /**
   * By table (notes): the parents (people) its rows name that the file does not hold, each with
   * the first line naming it (merging only).
   */
  outside: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

export interface CheckOptions {
  /** Merging: a row (a note) may belong to a parent (a person) that is only in the database. */
  allowOutsideParents: boolean;
}

/** The record types, and the contract's schema of each. */
const SCHEMAS: Record<string, string> = {
  export: "ExportHeader",
  ...Object.fromEntries(TRANSFERRED.map((table) => [table.name, table.exported.schema])),
  end: "ExportEnd",
};
const TYPES = Object.keys(SCHEMAS);

function schemaProblem(validate: ValidateFunction): string {
  const described = describeValidationErrors(validate.errors ?? [], "body");
  return described
    .map(({ pointer, message }) => `${pointer ? pointer.slice(1).replaceAll("/", ".") : "the record"} ${message}`)
    .join("; ");
}

/** The record's type, once its shape is the contract's; throws what is wrong with it otherwise. */
export function checkRecord(value: unknown, line: number | undefined): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ExportFileError(line, "is not a JSON object");
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !TYPES.includes(type)) {
    throw new ExportFileError(line, `type must be one of ${TYPES.join(", ")} (got ${JSON.stringify(type) ?? "none"})`);
  }
  const validate = schema(SCHEMAS[type] as string);
  if (!validate(value)) throw new ExportFileError(line, schemaProblem(validate));
  return type;
}

const storedForm = (text: string) => cleanText(text) === text;

/**
 * The rules a file's records follow beyond each one's shape, checked a record at a time so a file
 * of any size is checked in one pass: the header first, then each table's records in the order of
 * the descriptions (people, then notes), each in rising id order, then the end record with the
 * right counts; text without surrounding whitespace (as stored); names unique regardless of case
 * and spacing; every row's parent in the file (or, merging, possibly in the database). It keeps one
 * entry per parent (person).
 */
export class ExportChecker {
  readonly #options: CheckOptions;
  readonly #digest = new RowDigest();
  /** The ids of each parent table met so far. */
  readonly #ids = new Map<string, Set<number>>(
    TRANSFERRED.filter((table) => childrenOf(table.name).length > 0).map((table) => [table.name, new Set<number>()]),
  );
  readonly #names = new Map<string, { id: number; line: number | undefined }>();
  readonly #outside = new Map<string, Map<number, number>>();
  #stage: "start" | "records" | "ended" = "start";
  /** The index in TRANSFERRED of the table whose records come now. */
  #table = 0;
  #lastId = 0;
  /** The second key column's value of the last row, for a table keyed by two (a note's versions). */
  #lastThen = 0;
  #lastLine: number | undefined;

  constructor(options: CheckOptions) {
    this.#options = options;
  }

  /** Checks one parsed record; returns the row it makes, or undefined for the header and end. */
  add(value: unknown, line: number | undefined): Row | undefined {
    this.#lastLine = line;
    const type = checkRecord(value, line);
    const fail = (detail: string) => new ExportFileError(line, detail);
    if (this.#stage === "ended") throw fail("there is a record after the end record");
    if (type === "export") {
      if (this.#stage !== "start") throw fail("the export header must be the first record");
      this.#stage = "records";
      return undefined;
    }
    if (this.#stage === "start") {
      throw fail(`the first record must be the export header ${JSON.stringify(headerRecord())}`);
    }
    if (type === "end") {
      // History and the trash may be absent (an export that leaves them out, or made before they were carried).
      const end = { ...noCounts(), ...(value as Partial<Counts>) };
      const counts = this.#digest.counts();
      if (TRANSFERRED.some((table) => end[table.plural] !== counts[table.plural])) {
        throw fail(`the end record says ${inWords(end)}; the file has ${numbersOf(counts, String, end)}`);
      }
      this.#stage = "ended";
      return undefined;
    }
    const table = transferred(type) as Transferred;
    const index = TRANSFERRED.indexOf(table);
    if (index < this.#table) {
      throw fail(`${table.plural} must come before ${TRANSFERRED[this.#table]?.plural}`);
    }
    if (index > this.#table) {
      this.#table = index;
      this.#lastId = 0;
      this.#lastThen = 0;
    }
    return this.#row(table, value as Row, line, fail);
  }

  #row(table: Transferred, record: Row, line: number | undefined, fail: (detail: string) => Error): Row {
    const id = Number(record[table.key]);
    const then = "keyThen" in table ? table.keyThen : undefined;
    if (then !== undefined) {
      const next = Number(record[then]);
      if (id < this.#lastId || (id === this.#lastId && next <= this.#lastThen)) {
        throw fail(
          id === this.#lastId && next === this.#lastThen
            ? `${table.name} ${id} ${then} ${next} appears twice`
            : `${table.name} ${id} ${then} ${next} comes after ${table.name} ${this.#lastId} ${then} ${this.#lastThen}: ${table.plural} must be in rising ${table.key} and ${then} order`,
        );
      }
      this.#lastThen = next;
    } else if (id <= this.#lastId) {
      throw fail(
        id === this.#lastId
          ? `${table.name} ${id} appears twice`
          : `${table.name} ${id} comes after ${table.name} ${this.#lastId}: ${table.plural} must be in rising id order`,
      );
    }
    this.#lastId = id;
    for (const column of table.exported.trimmed) {
      if (!storedForm(String(record[column]))) throw fail(`${column} must not start or end with whitespace`);
    }
    const row = rowOf(table, record);
    if (table.name === "person") this.#uniqueName(row, line, fail);
    if ("idsWithin" in table) {
      try {
        table.idsWithin(row);
      } catch {
        throw fail(`${table.name} ${id}'s rows must be the JSON of the rows it keeps`);
      }
    }
    if ("parent" in table) {
      const parent = Number(record[table.parent.column]);
      if (!this.#ids.get(table.parent.table)?.has(parent)) {
        if (!this.#options.allowOutsideParents) {
          throw fail(`${table.name} ${id} belongs to ${table.parent.table} ${parent}, who is not in the file`);
        }
        const outside = this.#outside.get(table.name) ?? new Map<number, number>();
        this.#outside.set(table.name, outside);
        if (!outside.has(parent)) outside.set(parent, line ?? 0);
      }
    }
    this.#ids.get(table.name)?.add(id);
    this.#digest.add(table, [row]);
    return row;
  }

  /** Names are unique regardless of case and spacing, in the file as in the database. */
  #uniqueName(row: Row, line: number | undefined, fail: (detail: string) => Error): void {
    const key = `${row.fname_key}\u0000${row.lname_key}`;
    const same = this.#names.get(key);
    if (same !== undefined) {
      const where = same.line === undefined ? "" : ` (line ${same.line})`;
      throw fail(
        `person ${row.person_id} has the name of person ${same.id}${where}: names are unique regardless of case and spacing`,
      );
    }
    this.#names.set(key, { id: Number(row.person_id), line });
  }

  /** After the last record: what the file holds, or what is missing from it. */
  finish(options: { needsEnd: boolean }): CheckedFile {
    if (this.#stage === "start") throw new ExportFileError(undefined, "the file holds no export records");
    if (options.needsEnd && this.#stage !== "ended") {
      const where = this.#lastLine === undefined ? "" : ` (line ${this.#lastLine} is the last)`;
      throw new ExportFileError(undefined, `the file has no end record: it was cut short${where}`);
    }
    return { expected: this.#digest.summary(), ids: this.#ids, outside: this.#outside };
  }
}

/** A JSON.parse failure as a line and column, where the engine says at which position. */
export function syntaxProblem(error: unknown, text?: string): { line: number | undefined; detail: string } {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  const detail = `is not valid JSON (${message.replace(/\s*in JSON at position \d+.*$/, "").replace(/\s+/g, " ")})`;
  if (text === undefined || position === undefined) return { line: undefined, detail };
  const before = text.slice(0, Number(position));
  const line = before.split("\n").length;
  const column = Number(position) - before.lastIndexOf("\n");
  return { line, detail: `${detail} at column ${column}` };
}

/**
 * A JSON export, read whole: its top level against ExportDocument, then every record through the
 * checker as if it were an NDJSON line, with the line each record starts on.
 */
export function checkJsonDocument(
  text: string,
  options: CheckOptions,
): { checked: CheckedFile; rows: () => Generator<{ table: Transferred; row: Row; line: number | undefined }> } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const { line, detail } = syntaxProblem(error, text);
    throw new ExportFileError(line, detail);
  }
  const top = document as Record<string, unknown>;
  const keys = ["format_version", ...TRANSFERRED.map((table) => table.plural)];
  const shaped =
    typeof document === "object" &&
    document !== null &&
    !Array.isArray(document) &&
    TRANSFERRED.every(
      (table) => Array.isArray(top[table.plural]) || ("history" in table && top[table.plural] === undefined),
    ) &&
    Object.keys(document).every((key) => keys.includes(key)) &&
    top.format_version === FORMAT_VERSION;
  if (!shaped) {
    const validate = schema("ExportDocument");
    validate(document);
    throw new ExportFileError(1, schemaProblem(validate) || "is not an export document");
  }
  const sections = TRANSFERRED.map((table) => ({ table, records: (top[table.plural] ?? []) as Row[] }));
  const starts = elementLines(text);
  const checker = new ExportChecker(options);
  checker.add(headerRecord(), undefined);
  for (const { table, records } of sections) {
    for (const [i, record] of records.entries()) checker.add(record, starts[table.plural]?.[i]);
  }
  const checked = checker.finish({ needsEnd: false });
  return {
    checked,
    *rows() {
      for (const { table, records } of sections) {
        for (const [i, record] of records.entries()) {
          yield { table, row: rowOf(table, record), line: starts[table.plural]?.[i] };
        }
      }
    },
  };
}

/** The line each element of the top-level object's arrays starts on, by the array's key. */
function elementLines(text: string): Record<string, number[]> {
  const found: Record<string, number[]> = {};
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  let lastString = "";
  let key = "";
  let current: number[] | undefined;
  let elementNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') {
        inString = false;
        if (depth === 1) lastString = JSON.parse(text.slice(stringStart, i + 1)) as string;
      }
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\n") continue;
    if (depth === 2 && elementNext && c !== "]") {
      current?.push(line);
      elementNext = false;
    }
    if (c === '"') {
      inString = true;
      stringStart = i;
    } else if (c === ":" && depth === 1) {
      key = lastString;
    } else if (c === "{" || c === "[") {
      depth++;
      if (depth === 2 && c === "[") {
        current = [];
        found[key] = current;
        elementNext = true;
      }
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 2) {
      elementNext = true;
    }
  }
  return found;
}
