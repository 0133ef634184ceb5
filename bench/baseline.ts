/**
 * The practical limit the service is measured against: node:http and better-sqlite3 with prepared
 * statements, no framework. It serves the benchmarked endpoints from the same database file with
 * the same bodies, status codes and headers as the service, and the same SQLite settings.
 *
 *   DATABASE_PATH=bench/.data/1k.db PORT=5101 tsx bench/baseline.ts
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Database from "better-sqlite3";
import type { NoteRow } from "../src/db/notes-repository.js";
import type { PersonNoteRow, PersonRow } from "../src/db/people-repository.js";
import { noteTag, personTag } from "../src/domain/etags.js";
import { DEFAULT_SERVER_LIMITS } from "../src/http/settings.js";

const EMBEDDED_NOTES = 20;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const MAX_CONTENT = 10_000;
const BODY_LIMIT = 128 * 1024;
const JSON_TYPE = "application/json; charset=utf-8";
const PROBLEM_TYPE = "application/problem+json; charset=utf-8";
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; " +
  "frame-ancestors 'none'";

const path = process.env.DATABASE_PATH;
if (!path) throw new Error("DATABASE_PATH is required");
const db = new Database(path, { timeout: 10_000 });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("foreign_keys = ON");

const PERSON = "person_id, fname, lname, fname_key, lname_key, timestamp, version";
const NOTE_WITH_AUTHOR = `select note.note_id, note.person_id, note.content, note.timestamp, note.version, person.fname,
  person.lname, person.timestamp as person_timestamp, person.version as person_version
  from note inner join person on person.person_id = note.person_id`;

const sql = {
  person: db.prepare<[number], PersonRow>(`select ${PERSON} from person where person_id = ?`),
  peopleFirst: db.prepare<[number], PersonRow>(
    `select ${PERSON} from person order by lname_key, fname_key, person_id limit ?`,
  ),
  peopleAfter: db.prepare<[string, string, number, number], PersonRow>(
    `select ${PERSON} from person where (lname_key, fname_key, person_id) > (?, ?, ?)
     order by lname_key, fname_key, person_id limit ?`,
  ),
  newestNotes: db.prepare<[number, number], PersonNoteRow>(
    `select note_id, person_id, content, timestamp, version from note where person_id = ?
     order by timestamp desc, note_id desc limit ?`,
  ),
  notesFirst: db.prepare<[number], NoteRow>(
    `${NOTE_WITH_AUTHOR} order by note.timestamp desc, note.note_id desc limit ?`,
  ),
  notesAfter: db.prepare<[string, number, number], NoteRow>(
    `${NOTE_WITH_AUTHOR} where (note.timestamp, note.note_id) < (?, ?)
     order by note.timestamp desc, note.note_id desc limit ?`,
  ),
  note: db.prepare<[number, number], NoteRow>(`${NOTE_WITH_AUTHOR} where note.note_id = ? and note.person_id = ?`),
  total: db.prepare<[string], { value: number }>(
    "select coalesce(sum(value), 0) as value from table_count where name = ?",
  ),
  insertNote: db.prepare<[number, string, string]>(
    "insert into note (person_id, content, timestamp) values (?, ?, ?) returning note_id",
  ),
  updateNote: db.prepare<[string, string, number, number, string]>(
    "update note set content = ?, timestamp = ?, version = version + 1 where note_id = ? and person_id = ? and content != ?",
  ),
};

const toNote = (row: NoteRow) => ({
  note_id: row.note_id,
  person_id: row.person_id,
  content: row.content,
  timestamp: row.timestamp,
  person: { person_id: row.person_id, fname: row.fname, lname: row.lname, timestamp: row.person_timestamp },
});

/** A person as the API shows them, and their tag (which covers the embedded notes' versions). */
function toTaggedPerson(row: PersonRow) {
  const notes = sql.newestNotes.all(row.person_id, EMBEDDED_NOTES);
  const value = {
    person_id: row.person_id,
    fname: row.fname,
    lname: row.lname,
    timestamp: row.timestamp,
    notes: notes.map(({ note_id, person_id, content, timestamp }) => ({ note_id, person_id, content, timestamp })),
  };
  return { value, etag: personTag(row, notes) };
}

const toPerson = (row: PersonRow) => toTaggedPerson(row).value;

const encodeCursor = (key: (string | number)[]) => Buffer.from(JSON.stringify(key)).toString("base64url");

function decodeCursor(cursor: string, shape: string[]): (string | number)[] | undefined {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === shape.length && key.every((part, i) => typeof part === shape[i])) {
      return key;
    }
  } catch {}
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

const notFound = (detail: string) => new HttpError(404, "Not Found", detail);
const badRequest = (detail: string) => new HttpError(400, "Bad Request", detail);

/** Reads without a tag of their own get a weak one from the body, as the service does. */
const weakTag = (json: string) => `W/"${createHash("sha256").update(json).digest("base64url").slice(0, 22)}"`;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  if (status === 200 && headers.etag === undefined && res.req.method === "GET") headers.etag = weakTag(json);
  res.writeHead(status, {
    "x-request-id": randomUUID(),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    ...headers,
    "content-type": status >= 400 ? PROBLEM_TYPE : JSON_TYPE,
    "content-length": String(Buffer.byteLength(json)),
  });
  res.end(json);
}

interface Page {
  limit: number;
  cursor: string | undefined;
}

function pageOf(query: URLSearchParams): Page {
  const limitText = query.get("limit");
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest("query.limit is invalid");
  return { limit, cursor: query.get("cursor") ?? undefined };
}

/** Sends limit+1 fetched rows as one page, with the total and the next link. */
function sendPage<R, T>(
  res: ServerResponse,
  path: string,
  { limit }: Page,
  rows: R[],
  total: number,
  key: (row: R) => (string | number)[],
  map: (row: R) => T,
): void {
  const headers: Record<string, string> = { "x-total-count": String(total) };
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  if (rows.length > limit && last !== undefined) {
    const query = new URLSearchParams({ limit: String(limit), cursor: encodeCursor(key(last)) });
    headers.link = `<${path}?${query}>; rel="next"`;
  }
  send(res, 200, shown.map(map), headers);
}

function readPeople(res: ServerResponse, path: string, page: Page): void {
  let rows: PersonRow[];
  if (page.cursor === undefined) {
    rows = sql.peopleFirst.all(page.limit + 1);
  } else {
    const after = decodeCursor(page.cursor, ["string", "string", "number"]);
    if (!after) throw badRequest("The cursor is not valid: copy it from the next link of a previous page");
    rows = sql.peopleAfter.all(after[0] as string, after[1] as string, after[2] as number, page.limit + 1);
  }
  const total = (sql.total.get("person") as { value: number }).value;
  sendPage(res, path, page, rows, total, (row) => [row.lname_key, row.fname_key, row.person_id], toPerson);
}

function readNotes(res: ServerResponse, path: string, page: Page): void {
  let rows: NoteRow[];
  if (page.cursor === undefined) {
    rows = sql.notesFirst.all(page.limit + 1);
  } else {
    const after = decodeCursor(page.cursor, ["string", "number"]);
    if (!after) throw badRequest("The cursor is not valid: copy it from the next link of a previous page");
    rows = sql.notesAfter.all(after[0] as string, after[1] as number, page.limit + 1);
  }
  const total = (sql.total.get("note") as { value: number }).value;
  sendPage(res, path, page, rows, total, (row) => [row.timestamp, row.note_id], toNote);
}

function readPerson(personId: number) {
  const row = sql.person.get(personId);
  if (!row) throw notFound(`Person not found for Id: ${personId}`);
  return toTaggedPerson(row);
}

function readNote(personId: number, noteId: number) {
  const row = sql.note.get(noteId, personId);
  if (!row) throw notFound(`Note not found for Id: ${noteId}`);
  return { value: toNote(row), etag: noteTag(row) };
}

function sendTagged(
  res: ServerResponse,
  status: number,
  { value, etag }: { value: unknown; etag: string },
  headers = {},
) {
  send(res, status, value, { ...headers, etag });
}

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function noteContent(body: string): string {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    throw badRequest("The request body is not valid JSON");
  }
  const allowed = new Set(["content", "note_id", "person_id", "timestamp", "person"]);
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw badRequest("body must be an object");
  if (!Object.keys(input).every((name) => allowed.has(name))) throw badRequest("body has unknown fields");
  const { content } = input as { content?: unknown };
  if (
    typeof content !== "string" ||
    content.length > MAX_CONTENT ||
    content.trim() === "" ||
    content.includes("\0") ||
    UNPAIRED_SURROGATE.test(content)
  ) {
    throw badRequest("body.content must not be blank or contain NUL characters or unpaired surrogates");
  }
  return content.trim();
}

function createNote(res: ServerResponse, personId: number, body: string): void {
  const content = noteContent(body);
  let inserted: { note_id: number };
  try {
    inserted = sql.insertNote.get(personId, content, new Date().toISOString()) as { note_id: number };
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
      throw notFound(`Person not found for Id: ${personId}`);
    }
    throw error;
  }
  const { note_id } = inserted;
  sendTagged(res, 201, readNote(personId, note_id), { location: `/api/people/${personId}/notes/${note_id}` });
}

function updateNote(res: ServerResponse, personId: number, noteId: number, body: string): void {
  const content = noteContent(body);
  sql.updateNote.run(content, new Date().toISOString(), noteId, personId, content);
  sendTagged(res, 200, readNote(personId, noteId));
}

const ID = "([1-9][0-9]{0,15})";
const PERSON_PATH = new RegExp(`^/api/people/${ID}$`);
const NOTE_PATH = new RegExp(`^/api/people/${ID}/notes/${ID}$`);
const PERSON_NOTES_PATH = new RegExp(`^/api/people/${ID}/notes$`);

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1));
  const method = req.method;
  const person = PERSON_PATH.exec(path);
  const note = NOTE_PATH.exec(path);
  const personNotes = PERSON_NOTES_PATH.exec(path);
  if (method === "GET" && path === "/api/people") {
    readPeople(res, path, pageOf(query));
  } else if (method === "GET" && path === "/api/notes") {
    readNotes(res, path, pageOf(query));
  } else if (method === "GET" && person) {
    sendTagged(res, 200, readPerson(Number(person[1])));
  } else if (method === "GET" && note) {
    sendTagged(res, 200, readNote(Number(note[1]), Number(note[2])));
  } else if (method === "PUT" && note) {
    updateNote(res, Number(note[1]), Number(note[2]), body);
  } else if (method === "POST" && personNotes) {
    createNote(res, Number(personNotes[1]), body);
  } else {
    throw notFound("There is no resource at this URL");
  }
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  try {
    route(req, res, body);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    send(res, error.status, { type: "about:blank", title: error.title, status: error.status, detail: error.message });
  }
}

const server = createServer((req, res) => {
  if (req.method === "GET" || req.method === "HEAD") {
    handle(req, res, "");
    req.resume();
    return;
  }
  if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
    req.resume();
    return send(res, 415, { type: "about:blank", title: "Unsupported Media Type", status: 415, detail: "JSON only" });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > BODY_LIMIT) {
      return send(res, 413, { type: "about:blank", title: "Payload Too Large", status: 413, detail: "too large" });
    }
    handle(req, res, Buffer.concat(chunks).toString("utf8"));
  });
});
// The service's idle keep-alive, so both send the same Keep-Alive header.
server.keepAliveTimeout = DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs;

const shutdown = () => server.close(() => db.close());
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

server.listen(Number(process.env.PORT ?? 5100), process.env.HOST ?? "127.0.0.1");
