import { diffWords } from "diff";
import { api, ifMatch, type Note, type NoteRevision, type Tagged, unwrap, unwrapTagged } from "./api.js";
import { type Page, toPage } from "./paging.js";

/** A note's versions, newest (the current one) first, a page at a time. */
export async function listRevisions(
  personId: number,
  noteId: number,
  limit: number,
  cursor?: string,
): Promise<Page<NoteRevision>> {
  const result = await api.GET("/people/{person_id}/notes/{note_id}/revisions", {
    params: { path: { person_id: personId, note_id: noteId }, query: { limit, cursor } },
  });
  return toPage(unwrap(result), result.response);
}

/**
 * Makes an old version the current one, only if the note is still the version `etag` names
 * (else a 412, as for a save).
 */
export async function restoreRevision(
  personId: number,
  noteId: number,
  version: number,
  etag: string | undefined,
): Promise<Tagged<Note>> {
  return unwrapTagged(
    await api.POST("/people/{person_id}/notes/{note_id}/revisions/{version}/restore", {
      params: { path: { person_id: personId, note_id: noteId, version }, header: ifMatch(etag) },
    }),
  );
}

/** A stretch of text in a comparison: in both versions, only in the older one, or only in the current one. */
export interface DiffPart {
  kind: "same" | "removed" | "added";
  text: string;
}

/** What changed, word by word, from `older` to `current`. */
export function wordDiff(older: string, current: string): DiffPart[] {
  return diffWords(older, current).map((change) => ({
    kind: change.added ? "added" : change.removed ? "removed" : "same",
    text: change.value,
  }));
}

/** Who made a version, in words; `author` is the note's person, named when it was them. */
export function madeBy(revision: NoteRevision, author: { person_id: number; name: string }): string {
  const maker = revision.changed_by;
  if (maker === null) return "by someone before history was kept";
  if (maker.kind === "admin") return "by an admin";
  if (maker.kind === "anonymous") return "while sign-in was off";
  return maker.person_id === author.person_id ? `by ${author.name}` : `by person ${maker.person_id}`;
}
