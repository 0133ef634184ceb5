import { limits } from "../../../openapi/limits.js";

/** Items per request; "Load more" fetches the next page through the API's cursor. */
export const PAGE_SIZE = 20;
/** The API's largest page (the contract's `limit`), used to reload everything already shown in one request. */
export const MAX_PAGE_SIZE = limits.parameters.limit.maximum;

export interface Page<T> {
  items: T[];
  /** Cursor of the next page, from the `Link: <…>; rel="next"` header; undefined on the last page. */
  next: string | undefined;
  total: number;
}

/** Reads the opaque cursor out of an RFC 8288 `rel="next"` link. */
export function nextCursor(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (!match || !/\brel="?next"?/.test(match[2] ?? "")) continue;
    const cursor = new URL(match[1] ?? "", window.location.origin).searchParams.get("cursor");
    return cursor ?? undefined;
  }
  return undefined;
}

export function toPage<T>(items: T[], response: Response): Page<T> {
  const total = Number(response.headers.get("x-total-count"));
  return {
    items,
    next: nextCursor(response.headers.get("link")),
    total: Number.isFinite(total) ? total : items.length,
  };
}

/** How many items to ask for when reloading a list, so that a refresh keeps what was already shown. */
export function reloadSize(shown: number): number {
  return Math.min(Math.max(shown, PAGE_SIZE), MAX_PAGE_SIZE);
}
