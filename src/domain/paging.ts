import { badRequest } from "./errors.js";

/** Page sizes; the contract documents the same numbers. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** How many of a person's newest notes are embedded in the person. */
export const EMBEDDED_NOTES = 20;

export interface Page<T> {
  items: T[];
  /** Opaque cursor of the next page, absent on the last page. */
  next?: string;
  total: number;
}

/**
 * Keyset cursors: the sort key of the last item, as base64url JSON. A page query never scans the
 * items before it, so a deep page costs the same as the first.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** What each part of a cursor stands for, and so what it must look like. */
export type CursorPart = "timestamp" | "id" | "key" | "score";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** As long as a name key can be: 32 characters, each expanding to at most 18 under NFKC (U+FDFA). */
const MAX_KEY_LENGTH = 32 * 18;
/** Far above any relevance either engine computes for a query of the longest allowed text. */
const MAX_SCORE = 1e9;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be refused
const WELL_FORMED_TEXT = /^[^\u0000\uD800-\uDFFF]*$/u;

function isRealInstant(text: string): boolean {
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString() === text;
}

const partIsValid: Record<CursorPart, (part: unknown) => boolean> = {
  // Exactly the form the service writes, and a real instant (not 2020-13-45).
  timestamp: (part) => typeof part === "string" && TIMESTAMP.test(part) && isRealInstant(part),
  id: (part) => typeof part === "number" && Number.isSafeInteger(part) && part >= 1,
  key: (part) => typeof part === "string" && part.length <= MAX_KEY_LENGTH && WELL_FORMED_TEXT.test(part),
  // A search's relevance: BM25 on SQLite, ts_rank on PostgreSQL, both finite and not negative.
  score: (part) => typeof part === "number" && Number.isFinite(part) && part >= 0 && part <= MAX_SCORE,
};

/** The 400 for a cursor this service did not issue, or issued for another list. */
export function invalidCursor() {
  return badRequest("The cursor is not valid: copy it from the next link of a previous page", [
    { in: "query", pointer: "/cursor", message: "is not a cursor this service issued" },
  ]);
}

/**
 * Every part is checked for what it stands for before any query sees it, so a forged cursor is the
 * same 400 on both engines and never reaches the database.
 */
export function decodeCursor<K extends (string | number)[]>(
  cursor: string | undefined,
  shape: readonly CursorPart[],
): K | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    key = undefined;
  }
  const valid =
    Array.isArray(key) && key.length === shape.length && shape.every((part, i) => partIsValid[part](key[i]));
  if (!valid) throw invalidCursor();
  return key as K;
}

/** Turns limit+1 fetched rows into a page: the extra row only says that there is a next page. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  total: number,
  key: (row: R) => (string | number)[],
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  const page: Page<T> = { items: shown.map(map), total };
  if (more && last !== undefined) page.next = encodeCursor(key(last));
  return page;
}
