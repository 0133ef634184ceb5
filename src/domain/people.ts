import type { UnitOfWork } from "../db/executor.js";
import {
  countPeople,
  deletePerson,
  findPerson,
  insertPerson,
  listPeople,
  newestNotes,
  type PersonKey,
  type PersonNoteRow,
  type PersonRow,
  updatePerson,
} from "../db/people-repository.js";
import { personExists, personNotFound } from "./errors.js";
import { cleanText } from "./names.js";
import { decodeCursor, EMBEDDED_NOTES, type Page, toPage } from "./paging.js";
import type { Person, PersonNote } from "./types.js";

export interface PersonInput {
  fname: string;
  lname: string;
}

const PERSON_CURSOR = ["key", "key", "id"] as const;

const names = (input: PersonInput) => ({ fname: cleanText(input.fname), lname: cleanText(input.lname) });

const toNote = ({ note_id, person_id, content, timestamp }: PersonNoteRow): PersonNote => ({
  note_id,
  person_id,
  content,
  timestamp,
});

function toPerson(row: PersonRow, notes: PersonNoteRow[]): Person {
  return {
    person_id: row.person_id,
    fname: row.fname,
    lname: row.lname,
    timestamp: row.timestamp,
    notes: notes.map(toNote),
  };
}

export class PeopleService {
  constructor(
    private readonly store: UnitOfWork,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async list(limit: number, cursor?: string): Promise<Page<Person>> {
    const after = decodeCursor<PersonKey>(cursor, PERSON_CURSOR);
    const [rows, total] = await Promise.all([listPeople(this.store, limit + 1, after), countPeople(this.store)]);
    const shown = rows.slice(0, limit);
    const notes = await newestNotes(
      this.store,
      shown.map((row) => row.person_id),
      EMBEDDED_NOTES,
    );
    const byPerson = new Map<number, PersonNoteRow[]>();
    for (const note of notes) {
      const list = byPerson.get(note.person_id);
      if (list) list.push(note);
      else byPerson.set(note.person_id, [note]);
    }
    return toPage(
      rows,
      limit,
      total,
      (row) => [row.lname_key, row.fname_key, row.person_id],
      (row) => toPerson(row, byPerson.get(row.person_id) ?? []),
    );
  }

  async read(personId: number): Promise<Person> {
    const row = await findPerson(this.store, personId);
    if (!row) throw personNotFound(personId);
    return toPerson(row, await newestNotes(this.store, [personId], EMBEDDED_NOTES));
  }

  async create(input: PersonInput): Promise<Person> {
    const values = names(input);
    const row = await insertPerson(this.store, values, this.now());
    if (row === "duplicate-name") throw personExists(values.fname, values.lname);
    return toPerson(row, []);
  }

  async update(personId: number, input: PersonInput): Promise<Person> {
    const values = names(input);
    return this.store.transaction(async (tx) => {
      const row = await updatePerson(tx, personId, values, this.now());
      if (row === "duplicate-name") throw personExists(values.fname, values.lname);
      if (row === "not-found" || row === "changed-since") throw personNotFound(personId);
      return toPerson(row, await newestNotes(tx, [personId], EMBEDDED_NOTES));
    });
  }

  async delete(personId: number): Promise<void> {
    if (!(await deletePerson(this.store, personId))) throw personNotFound(personId);
  }
}
