import type { UnitOfWork as Transactional } from "../db/executor.js";
import {
  changeNote,
  findRevision,
  keepFirstVersion,
  keptRevisions,
  listRevisions,
  type Maker,
  type NoteRevisionRow,
} from "../db/note-revisions-repository.js";
import {
  countNotes,
  countNotesOfPerson,
  deleteNote,
  findNote,
  findNoteForChange,
  insertNote,
  listNotes,
  listNotesOfPerson,
  type NoteKey,
  type NoteRow,
} from "../db/notes-repository.js";
import { findPerson } from "../db/people-repository.js";
import { insertTrashEntry, revisionsOf } from "../db/trash-repository.js";
import { noteNotFound, notFound, personNotFound } from "./errors.js";
import { matchesIfMatch, noteTag, PreconditionFailed, type Tagged } from "./etags.js";
import { cleanText } from "./names.js";
import { decodeCursor, type Page, toPage } from "./paging.js";
import { type Caller, mayChangeNote, mayReadNote, mayWriteNoteFor, permit } from "./policy.js";
import { DEFAULT_HISTORY, type HistorySettings } from "./settings.js";
import type { Note, NoteRevision } from "./types.js";
import { type ChangeAnnouncer, NOBODY_LISTENING, UnitOfWork, type WriteTransaction } from "./unit-of-work.js";

const NOTE_CURSOR = ["timestamp", "id"] as const;
/** A note's versions are paged by their number. */
const REVISION_CURSOR = ["id"] as const;

/**
 * Who makes a change, as the history keeps it: the person of a person's token, an admin token, or
 * anyone while access control is off.
 */
const makerOf = (caller: Caller): Maker => ({
  changedBy: caller.kind,
  personId: caller.kind === "person" ? caller.personId : null,
});

/** The current version of a note whose history does not hold it yet: who made it is not known. */
const unrecorded = (note: NoteRow): NoteRevisionRow => ({
  note_id: note.note_id,
  version: note.version,
  content: note.content,
  timestamp: note.timestamp,
  changed_by: null,
  changed_by_person_id: null,
});

function toRevision(personId: number, row: NoteRevisionRow, current: boolean): NoteRevision {
  return {
    note_id: row.note_id,
    person_id: personId,
    version: row.version,
    content: row.content,
    timestamp: row.timestamp,
    current,
    changed_by: row.changed_by === null ? null : { kind: row.changed_by, person_id: row.changed_by_person_id },
  };
}

const revisionNotFound = (noteId: number, version: number) =>
  notFound(`Version ${version} of note ${noteId} not found`);

export function toNote(row: NoteRow): Note {
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

/** Goes on when there is no If-Match, or it lists the note's current tag; else the 412 with that tag. */
function requireMatch(row: NoteRow, ifMatch: string | undefined): void {
  const etag = noteTag(row);
  if (ifMatch !== undefined && !matchesIfMatch(ifMatch, etag)) {
    throw new PreconditionFailed(etag, `Note ${row.note_id} has changed since it was read (it is now ${etag})`);
  }
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
    private readonly history: HistorySettings = DEFAULT_HISTORY,
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
      await keepFirstVersion(tx, row, makerOf(caller));
      const created = tagged(row);
      await tx.record({ kind: "note.created", personId, resourceId: noteId, resource: created.value });
      return created;
    });
  }

  /**
   * With `ifMatch` (an If-Match header), only if the note is still as the client read it. A real
   * change keeps the version it replaces in the note's history.
   */
  async update(
    caller: Caller,
    personId: number,
    noteId: number,
    content: string,
    ifMatch?: string,
  ): Promise<Tagged<Note>> {
    // Every note this write can touch is one of this person's: the note's rule is asked of that person.
    permit(caller, mayChangeNote(caller, { person_id: personId }));
    const text = cleanText(content);
    return this.#writes.transaction((tx) => this.#change(tx, caller, personId, noteId, ifMatch, async () => text));
  }

  /** The note's versions, newest first: its current version, then those its changes replaced. */
  async revisions(
    caller: Caller,
    personId: number,
    noteId: number,
    limit: number,
    cursor?: string,
  ): Promise<Page<NoteRevision>> {
    permit(caller, mayReadNote(caller, { person_id: personId }));
    const after = decodeCursor<[number]>(cursor, REVISION_CURSOR);
    const before = after?.[0] ?? Number.MAX_SAFE_INTEGER;
    const [note, rows, kept] = await Promise.all([
      findNote(this.store, personId, noteId),
      listRevisions(this.store, noteId, limit + 1, before),
      keptRevisions(this.store, noteId),
    ]);
    if (!note) throw noteNotFound(noteId);
    // A note whose current version is not kept yet (written before history was kept) shows it anyway.
    const missing = kept.newest < note.version;
    const versions = [
      ...(missing && note.version < before ? [unrecorded(note)] : []),
      ...rows.filter((row) => row.version <= note.version),
    ];
    return toPage(
      versions,
      limit,
      kept.count + (missing ? 1 : 0),
      (row) => [row.version],
      (row) => toRevision(personId, row, row.version === note.version),
    );
  }

  async revision(caller: Caller, personId: number, noteId: number, version: number): Promise<NoteRevision> {
    permit(caller, mayReadNote(caller, { person_id: personId }));
    const [note, row] = await Promise.all([
      findNote(this.store, personId, noteId),
      findRevision(this.store, noteId, version),
    ]);
    if (!note) throw noteNotFound(noteId);
    if (note.version === version) return toRevision(personId, row ?? unrecorded(note), true);
    if (!row || row.version > note.version) throw revisionNotFound(noteId, version);
    return toRevision(personId, row, false);
  }

  /**
   * Makes an old version the current one, as a new version: a change like an edit (its own
   * history entry, a new tag, a `note.updated` event). Restoring what the note already says
   * changes nothing.
   */
  async restore(
    caller: Caller,
    personId: number,
    noteId: number,
    version: number,
    ifMatch?: string,
  ): Promise<Tagged<Note>> {
    permit(caller, mayChangeNote(caller, { person_id: personId }));
    return this.#writes.transaction((tx) =>
      this.#change(tx, caller, personId, noteId, ifMatch, async (current) => {
        if (current.version === version) return current.content;
        const row = await findRevision(tx, noteId, version);
        if (!row || row.version > current.version) throw revisionNotFound(noteId, version);
        return row.content;
      }),
    );
  }

  /**
   * One change to a note, in its transaction: reads the note (kept from other writers until the
   * commit), checks If-Match against it, and when the content really changes, writes the new
   * version, keeps the one it replaced, and records the change for the feed.
   */
  async #change(
    tx: WriteTransaction,
    caller: Caller,
    personId: number,
    noteId: number,
    ifMatch: string | undefined,
    contentFor: (current: NoteRow) => Promise<string>,
  ): Promise<Tagged<Note>> {
    const current = await findNoteForChange(tx, personId, noteId);
    if (!current) throw noteNotFound(noteId);
    requireMatch(current, ifMatch);
    const content = await contentFor(current);
    if (content === current.content) return tagged(current);
    const timestamp = this.now();
    const maker = makerOf(caller);
    if (!(await changeNote(tx, current, content, timestamp, maker, this.history.maxVersions))) {
      throw changedMeanwhile(noteId);
    }
    // The row is locked: the note is now what this change made of it.
    const row: NoteRow = { ...current, content, timestamp, version: current.version + 1 };
    const updated = tagged(row);
    await tx.record({ kind: "note.updated", personId, resourceId: noteId, resource: updated.value });
    return updated;
  }

  /** Moves the note, with its history, to the trash; `trash.restore` brings it back as it was. */
  async delete(caller: Caller, personId: number, noteId: number, ifMatch?: string): Promise<void> {
    permit(caller, mayChangeNote(caller, { person_id: personId }));
    await this.#writes.transaction(async (tx) => {
      // Locked: the note the trash keeps is the note that is deleted.
      const row = await findNoteForChange(tx, personId, noteId);
      if (!row) throw noteNotFound(noteId);
      requireMatch(row, ifMatch);
      const revisions = await revisionsOf(tx, noteId);
      if (!(await deleteNote(tx, personId, noteId, row.version))) throw changedMeanwhile(noteId);
      const { content, timestamp, version } = row;
      await insertTrashEntry(tx, {
        kind: "note",
        person_id: personId,
        note_id: noteId,
        fname: row.fname,
        lname: row.lname,
        content,
        notes: 1,
        rows: {
          person: null,
          notes: [{ note_id: noteId, person_id: personId, content, timestamp, version }],
          revisions,
        },
        deleted_at: this.now(),
      });
      const ids = { person_id: personId, note_id: noteId };
      await tx.record({ kind: "note.deleted", personId, resourceId: noteId, resource: ids });
    });
  }
}
