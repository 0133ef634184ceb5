import type { Kysely } from "kysely";
import { counterOf } from "./counters.js";
import { prepareQuery, type QueryRunner } from "./prepared.js";
import type { Database } from "./schema.js";

export type PersonKey = [lnameKey: string, fnameKey: string, personId: number];

export interface PersonRow {
  person_id: number;
  fname: string;
  lname: string;
  fname_key: string;
  lname_key: string;
  timestamp: string;
}

export interface PersonNoteRow {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
}

export interface PersonFields {
  fname: string;
  lname: string;
  fname_key: string;
  lname_key: string;
}

const personColumns = ["person_id", "fname", "lname", "fname_key", "lname_key", "timestamp"] as const;
const noteColumns = ["note_id", "person_id", "content", "timestamp"] as const;

/** The queries every read runs, compiled once when the repository is made (see prepareQuery). */
function queries(db: Kysely<Database>, runner: QueryRunner) {
  const inListOrder = (limit: number) =>
    db
      .selectFrom("person")
      .select(personColumns)
      .orderBy("lname_key")
      .orderBy("fname_key")
      .orderBy("person_id")
      .limit(limit);
  return {
    firstPage: prepareQuery(runner, (limit: number) => inListOrder(limit)),
    pageAfter: prepareQuery(runner, (lnameKey: string, fnameKey: string, personId: number, limit: number) =>
      inListOrder(limit).where((eb) =>
        eb(eb.refTuple("lname_key", "fname_key", "person_id"), ">", eb.tuple(lnameKey, fnameKey, personId)),
      ),
    ),
    find: prepareQuery(runner, (personId: number) =>
      db.selectFrom("person").select(personColumns).where("person_id", "=", personId),
    ),
    count: counterOf(db, runner, "person"),
    newestNotes: prepareQuery(runner, (personId: number, limit: number) =>
      db
        .selectFrom("note")
        .select(noteColumns)
        .where("person_id", "=", personId)
        .orderBy("timestamp", "desc")
        .orderBy("note_id", "desc")
        .limit(limit),
    ),
  };
}

export class PeopleRepository {
  private readonly queries: ReturnType<typeof queries>;

  constructor(
    private readonly db: Kysely<Database>,
    runner: QueryRunner,
  ) {
    this.queries = queries(db, runner);
  }

  /** People in list order (last name, first name, id), starting after `after`; `limit` rows at most. */
  async list(limit: number, after?: PersonKey): Promise<PersonRow[]> {
    const result = after
      ? await this.queries.pageAfter(after[0], after[1], after[2], limit)
      : await this.queries.firstPage(limit);
    return result.rows;
  }

  find(personId: number): Promise<PersonRow | undefined> {
    return this.queries.find.first(personId);
  }

  count(): Promise<number> {
    return this.queries.count();
  }

  /** Throws the engine's unique violation when the name is taken. */
  async insert(fields: PersonFields, timestamp: string): Promise<PersonRow> {
    return this.db
      .insertInto("person")
      .values({ ...fields, timestamp })
      .returning(personColumns)
      .executeTakeFirstOrThrow();
  }

  /**
   * Changes the names and the timestamp only when a name really changes.
   * Returns the row as it is afterwards, or undefined when there is no such person.
   */
  async update(personId: number, fields: PersonFields, timestamp: string): Promise<PersonRow | undefined> {
    const changed = await this.db
      .updateTable("person")
      .set({ ...fields, timestamp })
      .where("person_id", "=", personId)
      .where((eb) => eb.or([eb("fname", "!=", fields.fname), eb("lname", "!=", fields.lname)]))
      .returning(personColumns)
      .executeTakeFirst();
    return changed ?? this.find(personId);
  }

  /** Deletes the person; the database deletes their notes with them. */
  async delete(personId: number): Promise<boolean> {
    const result = await this.db.deleteFrom("person").where("person_id", "=", personId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The newest `perPerson` notes of each person, newest first within a person. */
  async newestNotes(personIds: number[], perPerson: number): Promise<PersonNoteRow[]> {
    if (personIds.length === 0) return [];
    if (personIds.length === 1) {
      const { rows } = await this.queries.newestNotes(personIds[0] as number, perPerson);
      return rows;
    }
    return this.db
      .selectFrom((eb) =>
        eb
          .selectFrom("note")
          .select(noteColumns)
          .select((inner) =>
            inner.fn
              .agg<number>("row_number")
              .over((over) => over.partitionBy("person_id").orderBy("timestamp", "desc").orderBy("note_id", "desc"))
              .as("rank"),
          )
          .where("person_id", "in", personIds)
          .as("ranked"),
      )
      .select(noteColumns)
      .where("rank", "<=", perPerson)
      .orderBy("person_id")
      .orderBy("timestamp", "desc")
      .orderBy("note_id", "desc")
      .execute();
  }
}
