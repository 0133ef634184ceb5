import type { NoteKey, NoteRow, NotesRepository } from "../db/notes-repository.js";
import type { PeopleRepository } from "../db/people-repository.js";
import { noteNotFound, personNotFound } from "./errors.js";
import { cleanText } from "./names.js";
import { decodeCursor, type Page, toPage } from "./paging.js";
import type { Note } from "./types.js";

const NOTE_CURSOR = ["string", "number"] as const;

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

/** Notes are always reached through their person: a note of someone else is not found. */
export class NotesService {
  constructor(
    private readonly notes: NotesRepository,
    private readonly people: PeopleRepository,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async list(limit: number, cursor?: string): Promise<Page<Note>> {
    const after = decodeCursor<NoteKey>(cursor, NOTE_CURSOR);
    const [rows, total] = await Promise.all([this.notes.list(limit + 1, after), this.notes.count()]);
    return toPage(rows, limit, total, noteKey, toNote);
  }

  async listByPerson(personId: number, limit: number, cursor?: string): Promise<Page<Note>> {
    const after = decodeCursor<NoteKey>(cursor, NOTE_CURSOR);
    const [person, rows, total] = await Promise.all([
      this.people.find(personId),
      this.notes.listByPerson(personId, limit + 1, after),
      this.notes.countByPerson(personId),
    ]);
    if (!person) throw personNotFound(personId);
    return toPage(rows, limit, total, noteKey, toNote);
  }

  async read(personId: number, noteId: number): Promise<Note> {
    const row = await this.notes.find(personId, noteId);
    if (!row) throw noteNotFound(noteId);
    return toNote(row);
  }

  async create(personId: number, content: string): Promise<Note> {
    const noteId = await this.notes.insert(personId, cleanText(content), this.now());
    if (noteId === undefined) throw personNotFound(personId);
    return this.read(personId, noteId);
  }

  async update(personId: number, noteId: number, content: string): Promise<Note> {
    await this.notes.update(personId, noteId, cleanText(content), this.now());
    return this.read(personId, noteId);
  }

  async delete(personId: number, noteId: number): Promise<void> {
    if (!(await this.notes.delete(personId, noteId))) throw noteNotFound(noteId);
  }
}
