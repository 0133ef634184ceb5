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

export function decodeCursor<K extends (string | number)[]>(
  cursor: string | undefined,
  shape: readonly ("string" | "number")[],
): K | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    key = undefined;
  }
  const valid =
    Array.isArray(key) &&
    key.length === shape.length &&
    key.every((part, i) => typeof part === shape[i] && (typeof part !== "number" || Number.isSafeInteger(part)));
  if (!valid) {
    throw badRequest("The cursor is not valid: copy it from the next link of a previous page", [
      { in: "query", pointer: "/cursor", message: "is not a cursor this service issued" },
    ]);
  }
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
