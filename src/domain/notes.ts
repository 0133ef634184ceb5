import type { Executor, UnitOfWork as Transactional } from "../db/executor.js";
import {
  countNotes,
  countNotesOfPerson,
  deleteNote,
  findNote,
  insertNote,
  listNotes,
  listNotesOfPerson,
  type NoteKey,
  type NoteRow,
  updateNote,
} from "../db/notes-repository.js";
import { findPerson } from "../db/people-repository.js";
import { noteNotFound, personNotFound } from "./errors.js";
import { matchesIfMatch, noteTag, PreconditionFailed, type Tagged } from "./etags.js";
import { cleanText } from "./names.js";
import { decodeCursor, type Page, toPage } from "./paging.js";
import { type Caller, mayChangeNote, mayWriteNoteFor, permit } from "./policy.js";
import type { Note } from "./types.js";
import { type ChangeAnnouncer, NOBODY_LISTENING, UnitOfWork } from "./unit-of-work.js";

const NOTE_CURSOR = ["timestamp", "id"] as const;

function toNote(row: NoteRow): Note {
  return {
    note_id: row.note_id,
    person_id: row.person_id,
    content: row.content,
    timestamp: row.timestamp,
    person: { person_id: row.person_id, fname: row.fname, lname: row.lname, timestamp: row.person_timestamp },
  };
}

const noteKey = (row: NoteRow): NoteKey => [row.timestamp, row.note_id];

const tagged = (row: NoteRow): Tagged<Note> => ({ value: toNote(row), etag: noteTag(row) });

const changedMeanwhile = (noteId: number) =>
  new PreconditionFailed(undefined, `Note ${noteId} changed while the request was being made`);

/**
 * The note's version when its current tag is one the client listed; the write then names that
 * version, so a change made in between still fails it.
 */
async function versionMatching(tx: Executor, personId: number, noteId: number, ifMatch: string): Promise<number> {
  const row = await findNote(tx, personId, noteId);
  if (!row) throw noteNotFound(noteId);
  const etag = noteTag(row);
  if (!matchesIfMatch(ifMatch, etag)) {
    throw new PreconditionFailed(etag, `Note ${noteId} has changed since it was read (it is now ${etag})`);
  }
  return row.version;
}

/**
 * Notes are always reached through their person: a note of someone else is not found. Writes take
 * the caller and ask the policy (`src/domain/policy.ts`) before anything is read or written.
 */
export class NotesService {
  readonly #writes: UnitOfWork;

  constructor(
    private readonly store: Transactional,
    changes: ChangeAnnouncer = NOBODY_LISTENING,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.#writes = new UnitOfWork(store, changes, now);
  }

  async list(limit: number, cursor?: string): Promise<Page<Note>> {
    const after = decodeCursor<NoteKey>(cursor, NOTE_CURSOR);
    const [rows, total] = await Promise.all([listNotes(this.store, limit + 1, after), countNotes(this.store)]);
    return toPage(rows, limit, total, noteKey, toNote);
  }

  async listByPerson(personId: number, limit: number, cursor?: string): Promise<Page<Note>> {
    const after = decodeCursor<NoteKey>(cursor, NOTE_CURSOR);
    const [person, rows, total] = await Promise.all([
      findPerson(this.store, personId),
      listNotesOfPerson(this.store, personId, limit + 1, after),
      countNotesOfPerson(this.store, personId),
    ]);
    if (!person) throw personNotFound(personId);
    return toPage(rows, limit, total, noteKey, toNote);
  }

  async read(personId: number, noteId: number): Promise<Tagged<Note>> {
    const row = await findNote(this.store, personId, noteId);
    if (!row) throw noteNotFound(noteId);
    return tagged(row);
  }

  async create(caller: Caller, personId: number, content: string): Promise<Tagged<Note>> {
    permit(caller, mayWriteNoteFor(caller, personId));
    return this.#writes.transaction(async (tx) => {
      const noteId = await insertNote(tx, personId, cleanText(content), this.now());
      if (noteId === "not-found") throw personNotFound(personId);
      const row = await findNote(tx, personId, noteId);
      if (!row) throw noteNotFound(noteId);
      const created = tagged(row);
      await tx.record({ kind: "note.created", personId, resourceId: noteId, resource: created.value });
      return created;
    });
  }

  /** With `ifMatch` (an If-Match header), only if the note is still as the client read it. */
  async update(
    caller: Caller,
    personId: number,
    noteId: number,
    content: string,
    ifMatch?: string,
  ): Promise<Tagged<Note>> {
    // Every note this write can touch is one of this person's: the note's rule is asked of that person.
    permit(caller, mayChangeNote(caller, { person_id: personId }));
    return this.#writes.transaction(async (tx) => {
      const expected = ifMatch === undefined ? undefined : await versionMatching(tx, personId, noteId, ifMatch);
      const row = await updateNote(tx, personId, noteId, cleanText(content), this.now(), expected);
      if (row === "not-found") throw noteNotFound(noteId);
      if (row === "changed-since") throw changedMeanwhile(noteId);
      const updated = tagged(row);
      if (row.changed) await tx.record({ kind: "note.updated", personId, resourceId: noteId, resource: updated.value });
      return updated;
    });
  }

  async delete(caller: Caller, personId: number, noteId: number, ifMatch?: string): Promise<void> {
    permit(caller, mayChangeNote(caller, { person_id: personId }));
    await this.#writes.transaction(async (tx) => {
      const expected = ifMatch === undefined ? undefined : await versionMatching(tx, personId, noteId, ifMatch);
      if (await deleteNote(tx, personId, noteId, expected)) {
        const ids = { person_id: personId, note_id: noteId };
        await tx.record({ kind: "note.deleted", personId, resourceId: noteId, resource: ids });
        return;
      }
      if (expected !== undefined && (await findNote(tx, personId, noteId))) throw changedMeanwhile(noteId);
      throw noteNotFound(noteId);
    });
  }
}
