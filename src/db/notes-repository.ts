import type { Kysely, SelectQueryBuilder } from "kysely";
import { counterOf } from "./counters.js";
import { isForeignKeyViolation } from "./errors.js";
import { prepareQuery, type QueryRunner } from "./prepared.js";
import type { Database } from "./schema.js";

export type NoteKey = [timestamp: string, noteId: number];

export interface NoteRow {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  fname: string;
  lname: string;
  person_timestamp: string;
}

type NoteQuery = SelectQueryBuilder<Database, "note" | "person", NoteRow>;

/** Notes joined with their author; the one shape every note response is made from. */
function withAuthor(db: Kysely<Database>): NoteQuery {
  return db
    .selectFrom("note")
    .innerJoin("person", "person.person_id", "note.person_id")
    .select([
      "note.note_id",
      "note.person_id",
      "note.content",
      "note.timestamp",
      "person.fname",
      "person.lname",
      "person.timestamp as person_timestamp",
    ]);
}

const newestFirst = (query: NoteQuery, limit: number) =>
  query.orderBy("note.timestamp", "desc").orderBy("note.note_id", "desc").limit(limit);

const before = (query: NoteQuery, timestamp: string, noteId: number) =>
  query.where((eb) => eb(eb.refTuple("note.timestamp", "note.note_id"), "<", eb.tuple(timestamp, noteId)));

/** Every query is compiled once, when the repository is made (see prepareQuery). */
function queries(db: Kysely<Database>, runner: QueryRunner) {
  const ofPerson = (personId: number) => withAuthor(db).where("note.person_id", "=", personId);
  return {
    firstPage: prepareQuery(runner, (limit: number) => newestFirst(withAuthor(db), limit)),
    pageAfter: prepareQuery(runner, (timestamp: string, noteId: number, limit: number) =>
      newestFirst(before(withAuthor(db), timestamp, noteId), limit),
    ),
    firstPageOfPerson: prepareQuery(runner, (personId: number, limit: number) =>
      newestFirst(ofPerson(personId), limit),
    ),
    pageOfPersonAfter: prepareQuery(runner, (personId: number, timestamp: string, noteId: number, limit: number) =>
      newestFirst(before(ofPerson(personId), timestamp, noteId), limit),
    ),
    count: counterOf(db, runner, "note"),
    countOfPerson: prepareQuery(runner, (personId: number) =>
      db
        .selectFrom("note")
        .select((eb) => eb.fn.countAll<number | string>().as("count"))
        .where("person_id", "=", personId),
    ),
    find: prepareQuery(runner, (personId: number, noteId: number) =>
      withAuthor(db).where("note.note_id", "=", noteId).where("note.person_id", "=", personId),
    ),
    insert: prepareQuery(runner, (personId: number, content: string, timestamp: string) =>
      db.insertInto("note").values({ person_id: personId, content, timestamp }).returning("note_id"),
    ),
    update: prepareQuery(runner, (personId: number, noteId: number, content: string, timestamp: string) =>
      db
        .updateTable("note")
        .set({ content, timestamp })
        .where("note_id", "=", noteId)
        .where("person_id", "=", personId)
        .where("content", "!=", content),
    ),
    delete: prepareQuery(runner, (personId: number, noteId: number) =>
      db.deleteFrom("note").where("note_id", "=", noteId).where("person_id", "=", personId),
    ),
  };
}

export class NotesRepository {
  private readonly queries: ReturnType<typeof queries>;

  constructor(db: Kysely<Database>, runner: QueryRunner) {
    this.queries = queries(db, runner);
  }

  async list(limit: number, after?: NoteKey): Promise<NoteRow[]> {
    const result = after
      ? await this.queries.pageAfter(after[0], after[1], limit)
      : await this.queries.firstPage(limit);
    return result.rows;
  }

  async listByPerson(personId: number, limit: number, after?: NoteKey): Promise<NoteRow[]> {
    const result = after
      ? await this.queries.pageOfPersonAfter(personId, after[0], after[1], limit)
      : await this.queries.firstPageOfPerson(personId, limit);
    return result.rows;
  }

  count(): Promise<number> {
    return this.queries.count();
  }

  async countByPerson(personId: number): Promise<number> {
    const { rows } = await this.queries.countOfPerson(personId);
    return Number(rows[0]?.count ?? 0);
  }

  /** The note only if it belongs to that person. */
  find(personId: number, noteId: number): Promise<NoteRow | undefined> {
    return this.queries.find.first(personId, noteId);
  }

  /** Returns the new note's id, or undefined when there is no such person. */
  async insert(personId: number, content: string, timestamp: string): Promise<number | undefined> {
    try {
      const { rows } = await this.queries.insert(personId, content, timestamp);
      return rows[0]?.note_id;
    } catch (error) {
      if (isForeignKeyViolation(error)) return undefined;
      throw error;
    }
  }

  /** Changes the content, and the timestamp, only when the content really changes. */
  async update(personId: number, noteId: number, content: string, timestamp: string): Promise<void> {
    await this.queries.update(personId, noteId, content, timestamp);
  }

  async delete(personId: number, noteId: number): Promise<boolean> {
    const { numAffectedRows } = await this.queries.delete(personId, noteId);
    return Number(numAffectedRows ?? 0) > 0;
  }
}
