/**
 * The export format and its rules. An export is every person and note as stored (ids, versions,
 * timestamps), people by id and then notes by id, one canonical JSON record each, so exporting what
 * an import loaded gives the same bytes. Tokens are never part of it.
 *
 * NDJSON: an `export` header line, a line per person, a line per note, and an `end` line with the
 * counts (a file without it was cut short). JSON: `{"format_version":1,"people":[…],"notes":[…]}`
 * with the same records, one a line. Both are checked against the contract's schemas
 * (ExportHeader, ExportPerson, ExportNote, ExportEnd, ExportDocument) and then against the rules
 * below before anything is written.
 */
import type { ValidateFunction } from "ajv/dist/2020.js";
import type { components } from "../../openapi/types.js";
import { describeValidationErrors } from "../contract/errors.js";
import { componentSchemas, contractAjv } from "../contract/schemas.js";
import { RowDigest, type RowSummary } from "../db/bulk.js";
import type { Store } from "../db/database.js";
import { type ExportBatch, type ExportedNote, type ExportedPerson, exportBatches } from "../db/export.js";
import type { ImportNote, ImportPerson } from "../db/import.js";
import { nameKey } from "../db/names.js";
import { cleanText } from "./names.js";

export type ExportHeader = components["schemas"]["ExportHeader"];
export type ExportPerson = components["schemas"]["ExportPerson"];
export type ExportNote = components["schemas"]["ExportNote"];
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

export const personRecord = (row: ExportedPerson): ExportPerson => ({
  type: "person",
  person_id: row.person_id,
  fname: row.fname,
  lname: row.lname,
  timestamp: row.timestamp,
  version: row.version,
});

export const noteRecord = (row: ExportedNote): ExportNote => ({
  type: "note",
  note_id: row.note_id,
  person_id: row.person_id,
  content: row.content,
  timestamp: row.timestamp,
  version: row.version,
});

const lines = (batch: ExportBatch): string =>
  batch.kind === "person"
    ? batch.rows.map((row) => JSON.stringify(personRecord(row))).join("\n")
    : batch.rows.map((row) => JSON.stringify(noteRecord(row))).join("\n");

/** The NDJSON export, a chunk of lines per batch. */
export async function* ndjsonChunks(batches: AsyncIterable<ExportBatch>): AsyncGenerator<string> {
  yield `${JSON.stringify(headerRecord())}\n`;
  const counts = { people: 0, notes: 0 };
  for await (const batch of batches) {
    if (batch.rows.length === 0) continue;
    counts[batch.kind === "person" ? "people" : "notes"] += batch.rows.length;
    yield `${lines(batch)}\n`;
  }
  const end: ExportEnd = { type: "end", people: counts.people, notes: counts.notes };
  yield `${JSON.stringify(end)}\n`;
}

/** The JSON export: one document, each record on a line of its own. */
export async function* jsonChunks(batches: AsyncIterable<ExportBatch>): AsyncGenerator<string> {
  yield `{"format_version":${FORMAT_VERSION},"people":[`;
  let section: "person" | "note" = "person";
  let first = true;
  for await (const batch of batches) {
    if (batch.rows.length === 0) continue;
    if (batch.kind === "note" && section === "person") {
      yield '\n],"notes":[';
      section = "note";
      first = true;
    }
    yield `${first ? "\n" : ",\n"}${lines(batch).replaceAll("\n", ",\n")}`;
    first = false;
  }
  yield section === "person" ? '\n],"notes":[\n]}\n' : "\n]}\n";
}

/**
 * The server's export: NDJSON from one snapshot, in small batches with a turn of the event loop
 * between them. The snapshot is opened and the first batch read before anything is sent, so a
 * database that does not answer is an ordinary error response rather than a cut-off body.
 */
export class ExportService {
  constructor(private readonly store: Store) {}

  /** The chunks, and `close` to end the snapshot whether or not they were read to the end. */
  async ndjson(): Promise<{ chunks: AsyncGenerator<string>; close: () => Promise<void> }> {
    const batches = exportBatches(this.store, { yieldBetweenBatches: true });
    const first = await batches.next();
    async function* all(): AsyncGenerator<ExportBatch> {
      if (first.done) return;
      yield first.value;
      yield* batches;
    }
    return {
      chunks: ndjsonChunks(all()),
      close: async () => {
        await batches.return(undefined);
      },
    };
  }
}

// Checking.

/** A person as it is written to the database: the record's fields and the name keys. */
export type PersonRow = ImportPerson;
export type NoteRow = ImportNote;

export const personRow = (record: ExportPerson): PersonRow => ({
  person_id: record.person_id,
  fname: record.fname,
  lname: record.lname,
  fname_key: nameKey(record.fname),
  lname_key: nameKey(record.lname),
  timestamp: record.timestamp,
  version: record.version,
});

export const noteRow = (record: ExportNote): NoteRow => ({
  note_id: record.note_id,
  person_id: record.person_id,
  content: record.content,
  timestamp: record.timestamp,
  version: record.version,
});

/** What a checked file holds, for loading it. */
export interface CheckedFile {
  people: number;
  notes: number;
  /** Counts and SHA-256 of the rows the file makes, as db copy computes them: a load must read back the same. */
  expected: RowSummary;
  /** Every person id of the file. */
  personIds: Set<number>;
  /** Persons the notes name that the file does not hold, with the first line naming each (merging only). */
  outsidePeople: Map<number, number>;
}

export interface CheckOptions {
  /** Merging: a note may belong to a person who is only in the database. */
  allowOutsidePeople: boolean;
}

const TYPES = ["export", "person", "note", "end"] as const;
type RecordType = (typeof TYPES)[number];
const SCHEMAS: Record<RecordType, string> = {
  export: "ExportHeader",
  person: "ExportPerson",
  note: "ExportNote",
  end: "ExportEnd",
};

function schemaProblem(validate: ValidateFunction): string {
  const described = describeValidationErrors(validate.errors ?? [], "body");
  return described
    .map(({ pointer, message }) => `${pointer ? pointer.slice(1).replaceAll("/", ".") : "the record"} ${message}`)
    .join("; ");
}

/** The record's type, once its shape is the contract's; throws what is wrong with it otherwise. */
export function checkRecord(value: unknown, line: number | undefined): RecordType {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ExportFileError(line, "is not a JSON object");
  }
  const type = (value as { type?: unknown }).type;
  if (!TYPES.includes(type as RecordType)) {
    throw new ExportFileError(line, `type must be one of ${TYPES.join(", ")} (got ${JSON.stringify(type) ?? "none"})`);
  }
  const validate = schema(SCHEMAS[type as RecordType]);
  if (!validate(value)) throw new ExportFileError(line, schemaProblem(validate));
  return type as RecordType;
}

const storedForm = (text: string) => cleanText(text) === text;

/**
 * The rules a file's records follow beyond each one's shape, checked a record at a time so a file
 * of any size is checked in one pass: the header first, then people in rising id order, then notes
 * in rising id order, then the end record with the right counts; names and contents without
 * surrounding whitespace (as stored); names unique regardless of case and spacing; every note's
 * person in the file (or, merging, possibly in the database). It keeps one entry per person.
 */
export class ExportChecker {
  readonly #options: CheckOptions;
  readonly #digest = new RowDigest();
  readonly #personIds = new Set<number>();
  readonly #names = new Map<string, { id: number; line: number | undefined }>();
  readonly #outside = new Map<number, number>();
  #stage: "start" | "people" | "notes" | "ended" = "start";
  #lastPerson = 0;
  #lastNote = 0;
  #lastLine: number | undefined;

  constructor(options: CheckOptions) {
    this.#options = options;
  }

  /** Checks one parsed record; returns the row it makes, or undefined for the header and end. */
  add(value: unknown, line: number | undefined): PersonRow | NoteRow | undefined {
    this.#lastLine = line;
    const type = checkRecord(value, line);
    const fail = (detail: string) => new ExportFileError(line, detail);
    if (this.#stage === "ended") throw fail("there is a record after the end record");
    if (type === "export") {
      if (this.#stage !== "start") throw fail("the export header must be the first record");
      this.#stage = "people";
      return undefined;
    }
    if (this.#stage === "start") {
      throw fail(`the first record must be the export header ${JSON.stringify(headerRecord())}`);
    }
    if (type === "end") {
      const end = value as ExportEnd;
      const { people, notes } = this.#digest;
      if (end.people !== people || end.notes !== notes) {
        throw fail(
          `the end record says ${end.people} people and ${end.notes} notes; the file has ${people} and ${notes}`,
        );
      }
      this.#stage = "ended";
      return undefined;
    }
    if (type === "person") {
      if (this.#stage === "notes") throw fail("people must come before notes");
      return this.#person(value as ExportPerson, line, fail);
    }
    this.#stage = "notes";
    return this.#note(value as ExportNote, line, fail);
  }

  #person(record: ExportPerson, line: number | undefined, fail: (detail: string) => Error): PersonRow {
    if (record.person_id <= this.#lastPerson) {
      throw fail(
        record.person_id === this.#lastPerson
          ? `person ${record.person_id} appears twice`
          : `person ${record.person_id} comes after person ${this.#lastPerson}: people must be in rising id order`,
      );
    }
    this.#lastPerson = record.person_id;
    for (const field of ["fname", "lname"] as const) {
      if (!storedForm(record[field])) throw fail(`${field} must not start or end with whitespace`);
    }
    const row = personRow(record);
    const key = `${row.fname_key}\u0000${row.lname_key}`;
    const same = this.#names.get(key);
    if (same !== undefined) {
      const where = same.line === undefined ? "" : ` (line ${same.line})`;
      throw fail(
        `person ${record.person_id} has the name of person ${same.id}${where}: names are unique regardless of case and spacing`,
      );
    }
    this.#names.set(key, { id: record.person_id, line });
    this.#personIds.add(record.person_id);
    this.#digest.addPeople([row]);
    return row;
  }

  #note(record: ExportNote, line: number | undefined, fail: (detail: string) => Error): NoteRow {
    if (record.note_id <= this.#lastNote) {
      throw fail(
        record.note_id === this.#lastNote
          ? `note ${record.note_id} appears twice`
          : `note ${record.note_id} comes after note ${this.#lastNote}: notes must be in rising id order`,
      );
    }
    this.#lastNote = record.note_id;
    if (!storedForm(record.content)) throw fail("content must not start or end with whitespace");
    if (!this.#personIds.has(record.person_id)) {
      if (!this.#options.allowOutsidePeople) {
        throw fail(`note ${record.note_id} belongs to person ${record.person_id}, who is not in the file`);
      }
      if (!this.#outside.has(record.person_id)) this.#outside.set(record.person_id, line ?? 0);
    }
    const row = noteRow(record);
    this.#digest.addNotes([row]);
    return row;
  }

  /** After the last record: what the file holds, or what is missing from it. */
  finish(options: { needsEnd: boolean }): CheckedFile {
    if (this.#stage === "start") throw new ExportFileError(undefined, "the file holds no export records");
    if (options.needsEnd && this.#stage !== "ended") {
      const where = this.#lastLine === undefined ? "" : ` (line ${this.#lastLine} is the last)`;
      throw new ExportFileError(undefined, `the file has no end record: it was cut short${where}`);
    }
    const expected = this.#digest.summary();
    return {
      people: expected.people,
      notes: expected.notes,
      expected,
      personIds: this.#personIds,
      outsidePeople: this.#outside,
    };
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
): { checked: CheckedFile; rows: () => Generator<{ row: PersonRow | NoteRow; line: number | undefined }> } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const { line, detail } = syntaxProblem(error, text);
    throw new ExportFileError(line, detail);
  }
  const top = document as { format_version?: unknown; people?: unknown; notes?: unknown };
  const shaped =
    typeof document === "object" &&
    document !== null &&
    !Array.isArray(document) &&
    Array.isArray(top.people) &&
    Array.isArray(top.notes) &&
    Object.keys(document).every((key) => ["format_version", "people", "notes"].includes(key)) &&
    top.format_version === FORMAT_VERSION;
  if (!shaped) {
    const validate = schema("ExportDocument");
    validate(document);
    throw new ExportFileError(1, schemaProblem(validate) || "is not an export document");
  }
  const people = top.people as unknown[];
  const notes = top.notes as unknown[];
  const starts = elementLines(text);
  const checker = new ExportChecker(options);
  checker.add(headerRecord(), undefined);
  for (const [i, record] of people.entries()) checker.add(record, starts.people?.[i]);
  for (const [i, record] of notes.entries()) checker.add(record, starts.notes?.[i]);
  const checked = checker.finish({ needsEnd: false });
  return {
    checked,
    *rows() {
      for (const [i, record] of people.entries())
        yield { row: personRow(record as ExportPerson), line: starts.people?.[i] };
      for (const [i, record] of notes.entries()) yield { row: noteRow(record as ExportNote), line: starts.notes?.[i] };
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
