import { limits } from "../../../openapi/limits.js";
import type { components } from "../../../openapi/types.js";
import { api, unwrap } from "./api.js";
import { type Page, toPage } from "./paging.js";

export type FoundNote = components["schemas"]["ListedNote"];
export type Highlight = components["schemas"]["Highlight"];

/** The contract's limit for a search's text. */
export const MAX_SEARCH_LENGTH = limits.schemas.SearchText.maxLength;

/** One page of the notes matching `q`, best first, each with its highlights. */
export async function searchNotes(
  q: string,
  limit: number,
  cursor?: string,
  signal?: AbortSignal,
): Promise<Page<FoundNote>> {
  const result = await api.GET("/notes", { params: { query: { q, limit, cursor } }, ...(signal ? { signal } : {}) });
  return toPage(unwrap(result), result.response);
}

/** A text cut into runs, each marked or not, from its highlights (ranges that may overlap or come unsorted). */
export function markedRuns(
  text: string,
  highlights: readonly Pick<Highlight, "start" | "end">[],
): { text: string; marked: boolean }[] {
  const ranges = highlights
    .map(({ start, end }) => [Math.max(0, start), Math.min(text.length, end)] as const)
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  const runs: { text: string; marked: boolean }[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    if (start > at) runs.push({ text: text.slice(at, start), marked: false });
    runs.push({ text: text.slice(Math.max(start, at), end), marked: true });
    at = end;
  }
  if (at < text.length) runs.push({ text: text.slice(at), marked: false });
  return runs;
}
