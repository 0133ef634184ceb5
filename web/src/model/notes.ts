import { api, ifMatch, type Note, type NoteInput, type Tagged, unwrap, unwrapTagged } from "./api.js";
import { type Page, toPage } from "./paging.js";

export async function listNotes(limit: number, cursor?: string): Promise<Page<Note>> {
  const result = await api.GET("/notes", { params: { query: { limit, cursor } } });
  return toPage(unwrap(result), result.response);
}

export async function listNotesOf(personId: number, limit: number, cursor?: string): Promise<Page<Note>> {
  const result = await api.GET("/people/{person_id}/notes", {
    params: { path: { person_id: personId }, query: { limit, cursor } },
  });
  return toPage(unwrap(result), result.response);
}

function notePath(personId: number, noteId: number) {
  return { path: { person_id: personId, note_id: noteId } };
}

export async function readNote(personId: number, noteId: number): Promise<Tagged<Note>> {
  return unwrapTagged(await api.GET("/people/{person_id}/notes/{note_id}", { params: notePath(personId, noteId) }));
}

export async function createNote(personId: number, input: NoteInput): Promise<Tagged<Note>> {
  return unwrapTagged(
    await api.POST("/people/{person_id}/notes", { params: { path: { person_id: personId } }, body: input }),
  );
}

export async function updateNote(
  personId: number,
  noteId: number,
  input: NoteInput,
  etag: string | undefined,
): Promise<Tagged<Note>> {
  return unwrapTagged(
    await api.PUT("/people/{person_id}/notes/{note_id}", {
      params: { ...notePath(personId, noteId), header: ifMatch(etag) },
      body: input,
    }),
  );
}

export async function deleteNote(personId: number, noteId: number, etag: string | undefined): Promise<void> {
  unwrap(
    await api.DELETE("/people/{person_id}/notes/{note_id}", {
      params: { ...notePath(personId, noteId), header: ifMatch(etag) },
    }),
  );
}
