import type { Executor, UnitOfWork as Transactional } from "../db/executor.js";
import {
  countPeople,
  deletePerson,
  findPeople,
  findPerson,
  findPersonByName,
  findPersonForChange,
  insertPerson,
  listPeople,
  newestNotes,
  type PersonKey,
  type PersonNoteRow,
  type PersonRow,
  updatePerson,
} from "../db/people-repository.js";
import { insertTrashEntry, rowsOfPerson } from "../db/trash-repository.js";
import { personExists, personNotFound } from "./errors.js";
import { matchesIfMatch, PreconditionFailed, personTag, type Tagged } from "./etags.js";
import { cleanText } from "./names.js";
import { decodeCursor, EMBEDDED_NOTES, type Page, toPage } from "./paging.js";
import { type Caller, mayChangePerson, mayCreatePerson, mayDeletePerson, permit } from "./policy.js";
import { batchedReads, type ReadBatching } from "./read-batches.js";
import type { Person, PersonNote } from "./types.js";
import { type ChangeAnnouncer, NOBODY_LISTENING, UnitOfWork, type WriteTransaction } from "./unit-of-work.js";

export interface PersonInput {
  fname: string;
  lname: string;
}

const names = (input: PersonInput) => ({ fname: cleanText(input.fname), lname: cleanText(input.lname) });

const toNote = ({ note_id, person_id, content, timestamp }: PersonNoteRow): PersonNote => ({
  note_id,
  person_id,
  content,
  timestamp,
});

const tagged = (row: PersonRow, notes: PersonNoteRow[]): Tagged<Person> => ({
  value: toPerson(row, notes),
  etag: personTag(row, notes),
});

/** Thrown inside a transaction that found the names taken; answered once it has rolled back. */
class NamesTaken {
  constructor(readonly names: PersonInput) {}
}

const changedMeanwhile = (personId: number) =>
  new PreconditionFailed(undefined, `Person ${personId} changed while the request was being made`);

function toPerson(row: PersonRow, notes: PersonNoteRow[]): Person {
  return {
    person_id: row.person_id,
    fname: row.fname,
    lname: row.lname,
    timestamp: row.timestamp,
    notes: notes.map(toNote),
  };
}

/** Notes grouped by their person, each group in the order given. */
function notesByPerson(notes: PersonNoteRow[]): Map<number, PersonNoteRow[]> {
  const byPerson = new Map<number, PersonNoteRow[]>();
  for (const note of notes) {
    const list = byPerson.get(note.person_id);
    if (list) list.push(note);
    else byPerson.set(note.person_id, [note]);
  }
  return byPerson;
}

/** People cursors hold the sort key: last name's key, first name's key, id. */
export const PERSON_CURSOR = ["key", "key", "id"] as const;

/** A page of people (`rows` holds one more than `limit` when there is a next page), each with their newest notes. */
export async function pageOfPeople(
  ex: Executor,
  rows: PersonRow[],
  limit: number,
  total: number,
): Promise<Page<Person>> {
  const shown = rows.slice(0, limit);
  const notes = await newestNotes(
    ex,
    shown.map((row) => row.person_id),
    EMBEDDED_NOTES,
  );
  const byPerson = notesByPerson(notes);
  return toPage(
    rows,
    limit,
    total,
    (row) => [row.lname_key, row.fname_key, row.person_id],
    (row) => toPerson(row, byPerson.get(row.person_id) ?? []),
  );
}

export class PeopleService {
  readonly #writes: UnitOfWork;

  constructor(
    private readonly store: Transactional,
    changes: ChangeAnnouncer = NOBODY_LISTENING,
    private readonly now: () => string = () => new Date().toISOString(),
    batching: ReadBatching = { inFlight: 4, maxBatch: 100 },
  ) {
    this.#writes = new UnitOfWork(store, changes, now);
    this.#readOne = batchedReads((personIds) => this.#readMany(personIds), batching);
  }

  /** People read one by one by many requests at once cost the database one query for them all. */
  readonly #readOne: (personId: number) => Promise<Tagged<Person> | undefined>;

  async #readMany(asked: readonly number[]): Promise<Map<number, Tagged<Person>>> {
    const personIds = [...new Set(asked)];
    const [rows, notes] = await Promise.all([
      findPeople(this.store, personIds),
      newestNotes(this.store, personIds, EMBEDDED_NOTES),
    ]);
    const byPerson = notesByPerson(notes);
    return new Map(rows.map((row) => [row.person_id, tagged(row, byPerson.get(row.person_id) ?? [])]));
  }

  async list(limit: number, cursor?: string): Promise<Page<Person>> {
    const after = decodeCursor<PersonKey>(cursor, PERSON_CURSOR);
    const [rows, total] = await Promise.all([listPeople(this.store, limit + 1, after), countPeople(this.store)]);
    return pageOfPeople(this.store, rows, limit, total);
  }

  async read(personId: number): Promise<Tagged<Person>> {
    const person = await this.#readOne(personId);
    if (!person) throw personNotFound(personId);
    return person;
  }

  async create(caller: Caller, input: PersonInput): Promise<Tagged<Person>> {
    permit(caller, mayCreatePerson(caller), "admin");
    const values = names(input);
    return this.#namingTheHolder(() =>
      this.#writes.transaction(async (tx) => {
        const row = await insertPerson(tx, values, this.now());
        if (row === "duplicate-name") throw new NamesTaken(values);
        await this.#record(tx, "person.created", row);
        return tagged(row, []);
      }),
    );
  }

  /** With `ifMatch` (an If-Match header), only if the person is still as the client read them. */
  async update(caller: Caller, personId: number, input: PersonInput, ifMatch?: string): Promise<Tagged<Person>> {
    permit(caller, mayChangePerson(caller, personId));
    const values = names(input);
    return this.#namingTheHolder(() =>
      this.#writes.transaction(async (tx) => {
        const expected = ifMatch === undefined ? undefined : await this.#versionMatching(tx, personId, ifMatch);
        const row = await updatePerson(tx, personId, values, this.now(), expected);
        if (row === "duplicate-name") throw new NamesTaken(values);
        if (row === "not-found") throw personNotFound(personId);
        if (row === "changed-since") throw changedMeanwhile(personId);
        if (row.changed) await this.#record(tx, "person.updated", row);
        return tagged(row, await newestNotes(tx, [personId], EMBEDDED_NOTES));
      }),
    );
  }

  /**
   * Moves the person, with all their notes and their notes' history, to the trash as one entry.
   * Their tokens and account are deleted: they end with the person and do not come back with a
   * restore.
   */
  async delete(caller: Caller, personId: number, ifMatch?: string): Promise<void> {
    permit(caller, mayDeletePerson(caller, personId), "admin");
    await this.#writes.transaction(async (tx) => {
      // Locked (PostgreSQL): nobody changes the person or adds a note until this commits.
      const row = await findPersonForChange(tx, personId);
      if (!row) throw personNotFound(personId);
      if (ifMatch !== undefined) await this.#requireMatch(tx, row, ifMatch);
      const { notes, revisions } = await rowsOfPerson(tx, personId);
      if (!(await deletePerson(tx, personId, row.version))) throw changedMeanwhile(personId);
      await insertTrashEntry(tx, {
        kind: "person",
        person_id: personId,
        note_id: null,
        fname: row.fname,
        lname: row.lname,
        content: null,
        notes: notes.length,
        rows: { person: row, notes, revisions },
        deleted_at: this.now(),
      });
      await tx.record({ kind: "person.deleted", personId, resourceId: personId, resource: { person_id: personId } });
    });
  }

  /**
   * Runs a write that may find the names taken; the 409 then names the person who has them, as
   * stored. The transaction has rolled back by then (PostgreSQL runs nothing more in one after the
   * refused statement), so the holder is read afresh; should they be gone meanwhile, or the read
   * fail, the 409 names the names as sent.
   */
  async #namingTheHolder<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof NamesTaken)) throw error;
      const holder = await findPersonByName(this.store, error.names).catch(() => undefined);
      throw personExists(holder ?? error.names);
    }
  }

  /** A person's change carries the person without their notes: those have changes of their own. */
  #record(tx: WriteTransaction, kind: "person.created" | "person.updated", row: PersonRow): Promise<void> {
    const { person_id, fname, lname, timestamp } = row;
    return tx.record({
      kind,
      personId: person_id,
      resourceId: person_id,
      resource: { person_id, fname, lname, timestamp },
    });
  }

  /**
   * The person's version when their current tag is one the client listed; the write then names
   * that version, so a change made in between still fails it.
   */
  async #versionMatching(tx: Executor, personId: number, ifMatch: string): Promise<number> {
    const row = await findPerson(tx, personId);
    if (!row) throw personNotFound(personId);
    await this.#requireMatch(tx, row, ifMatch);
    return row.version;
  }

  /** Goes on when If-Match lists the person's current tag (which covers their newest notes); else the 412 with that tag. */
  async #requireMatch(tx: Executor, row: PersonRow, ifMatch: string): Promise<void> {
    const { etag } = tagged(row, await newestNotes(tx, [row.person_id], EMBEDDED_NOTES));
    if (!matchesIfMatch(ifMatch, etag)) {
      throw new PreconditionFailed(etag, `Person ${row.person_id} has changed since it was read (it is now ${etag})`);
    }
  }
}
