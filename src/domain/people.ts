import { isUniqueViolation } from "../db/errors.js";
import type { PeopleRepository, PersonFields, PersonKey, PersonNoteRow, PersonRow } from "../db/people-repository.js";
import { personExists, personNotFound } from "./errors.js";
import { cleanText, nameKey } from "./names.js";
import { decodeCursor, EMBEDDED_NOTES, type Page, toPage } from "./paging.js";
import type { Person } from "./types.js";

export interface PersonInput {
  fname: string;
  lname: string;
}

const PERSON_CURSOR = ["string", "string", "number"] as const;

function fields(input: PersonInput): PersonFields {
  const fname = cleanText(input.fname);
  const lname = cleanText(input.lname);
  return { fname, lname, fname_key: nameKey(fname), lname_key: nameKey(lname) };
}

function toPerson(row: PersonRow, notes: PersonNoteRow[]): Person {
  return { person_id: row.person_id, fname: row.fname, lname: row.lname, timestamp: row.timestamp, notes };
}

export class PeopleService {
  constructor(
    private readonly people: PeopleRepository,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async list(limit: number, cursor?: string): Promise<Page<Person>> {
    const after = decodeCursor<PersonKey>(cursor, PERSON_CURSOR);
    const [rows, total] = await Promise.all([this.people.list(limit + 1, after), this.people.count()]);
    const shown = rows.slice(0, limit);
    const notes = await this.people.newestNotes(
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
    const row = await this.people.find(personId);
    if (!row) throw personNotFound(personId);
    return this.withNotes(row);
  }

  async create(input: PersonInput): Promise<Person> {
    const values = fields(input);
    try {
      const row = await this.people.insert(values, this.now());
      return toPerson(row, []);
    } catch (error) {
      if (isUniqueViolation(error)) throw personExists(values.fname, values.lname);
      throw error;
    }
  }

  async update(personId: number, input: PersonInput): Promise<Person> {
    const values = fields(input);
    let row: PersonRow | undefined;
    try {
      row = await this.people.update(personId, values, this.now());
    } catch (error) {
      if (isUniqueViolation(error)) throw personExists(values.fname, values.lname);
      throw error;
    }
    if (!row) throw personNotFound(personId);
    return this.withNotes(row);
  }

  async delete(personId: number): Promise<void> {
    if (!(await this.people.delete(personId))) throw personNotFound(personId);
  }

  private async withNotes(row: PersonRow): Promise<Person> {
    return toPerson(row, await this.people.newestNotes([row.person_id], EMBEDDED_NOTES));
  }
}
