import type { Kysely, SelectQueryBuilder } from "kysely";
import { isForeignKeyViolation } from "./errors.js";
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

export class NotesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Notes joined with their author; the one shape every note response is made from. */
  private withAuthor(): NoteQuery {
    return this.db
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

  private newestFirst(query: NoteQuery, limit: number, after?: NoteKey): Promise<NoteRow[]> {
    if (after) {
      query = query.where((eb) => eb(eb.refTuple("note.timestamp", "note.note_id"), "<", eb.tuple(after[0], after[1])));
    }
    return query.orderBy("note.timestamp", "desc").orderBy("note.note_id", "desc").limit(limit).execute();
  }

  list(limit: number, after?: NoteKey): Promise<NoteRow[]> {
    return this.newestFirst(this.withAuthor(), limit, after);
  }

  listByPerson(personId: number, limit: number, after?: NoteKey): Promise<NoteRow[]> {
    return this.newestFirst(this.withAuthor().where("note.person_id", "=", personId), limit, after);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("counter")
      .select("value")
      .where("name", "=", "note")
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  async countByPerson(personId: number): Promise<number> {
    const row = await this.db
      .selectFrom("note")
      .select((eb) => eb.fn.countAll<number | string>().as("count"))
      .where("person_id", "=", personId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The note only if it belongs to that person. */
  find(personId: number, noteId: number): Promise<NoteRow | undefined> {
    return this.withAuthor()
      .where("note.note_id", "=", noteId)
      .where("note.person_id", "=", personId)
      .executeTakeFirst();
  }

  /** Returns the new note's id, or undefined when there is no such person. */
  async insert(personId: number, content: string, timestamp: string): Promise<number | undefined> {
    try {
      const row = await this.db
        .insertInto("note")
        .values({ person_id: personId, content, timestamp })
        .returning("note_id")
        .executeTakeFirstOrThrow();
      return row.note_id;
    } catch (error) {
      if (isForeignKeyViolation(error)) return undefined;
      throw error;
    }
  }

  /** Changes the content, and the timestamp, only when the content really changes. */
  async update(personId: number, noteId: number, content: string, timestamp: string): Promise<void> {
    await this.db
      .updateTable("note")
      .set({ content, timestamp })
      .where("note_id", "=", noteId)
      .where("person_id", "=", personId)
      .where("content", "!=", content)
      .execute();
  }

  async delete(personId: number, noteId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom("note")
      .where("note_id", "=", noteId)
      .where("person_id", "=", personId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
