import { ApiError, api, type TrashEntry, unwrap } from "./api.js";
import { MAX_PAGE_SIZE, type Page, toPage } from "./paging.js";

export async function listTrash(limit: number, cursor?: string): Promise<Page<TrashEntry>> {
  const result = await api.GET("/trash", { params: { query: { limit, cursor } } });
  return toPage(unwrap(result), result.response);
}

export async function restoreEntry(trashId: number): Promise<TrashEntry> {
  return unwrap(await api.POST("/trash/{trash_id}/restore", { params: { path: { trash_id: trashId } } }));
}

export async function purgeEntry(trashId: number): Promise<void> {
  unwrap(await api.DELETE("/trash/{trash_id}", { params: { path: { trash_id: trashId } } }));
}

/** What a delete put in the trash: a note by its id, or a person by theirs. */
export type Deleted = { kind: "note"; noteId: number } | { kind: "person"; personId: number };

const isEntryOf = (entry: TrashEntry, deleted: Deleted) =>
  deleted.kind === "note"
    ? entry.kind === "note" && entry.note_id === deleted.noteId
    : entry.kind === "person" && entry.person_id === deleted.personId;

/**
 * Undoes a delete just made: finds its entry among the newest of the trash (a delete answers
 * without one) and restores it. The entry is one of the newest, so one page finds it.
 */
export async function undoDelete(deleted: Deleted): Promise<TrashEntry> {
  const page = await listTrash(MAX_PAGE_SIZE);
  const entry = page.items.find((each) => isEntryOf(each, deleted));
  if (!entry) throw new ApiError("It is no longer in the trash.", 404);
  return restoreEntry(entry.trash_id);
}

/** What an entry is, in words: the person's name, or the note and whose it is. */
export function describeEntry(entry: TrashEntry): string {
  const name = `${entry.fname} ${entry.lname}`;
  if (entry.kind === "person") {
    return `${name}, with ${entry.notes} ${entry.notes === 1 ? "note" : "notes"}`;
  }
  return `Note by ${name}`;
}
