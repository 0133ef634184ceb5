import { api, type Note, type NoteInput, unwrap } from "./api.js";
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
  return { params: { path: { person_id: personId, note_id: noteId } } };
}

export async function readNote(personId: number, noteId: number): Promise<Note> {
  return unwrap(await api.GET("/people/{person_id}/notes/{note_id}", notePath(personId, noteId)));
}

export async function createNote(personId: number, input: NoteInput): Promise<Note> {
  return unwrap(
    await api.POST("/people/{person_id}/notes", { params: { path: { person_id: personId } }, body: input }),
  );
}

export async function updateNote(personId: number, noteId: number, input: NoteInput): Promise<Note> {
  return unwrap(await api.PUT("/people/{person_id}/notes/{note_id}", { ...notePath(personId, noteId), body: input }));
}

export async function deleteNote(personId: number, noteId: number): Promise<void> {
  unwrap(await api.DELETE("/people/{person_id}/notes/{note_id}", notePath(personId, noteId)));
}
