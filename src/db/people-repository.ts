import { type Kysely, sql } from "kysely";
import { ConstraintViolation } from "./errors.js";
import { affected, type Executor, prepareQuery } from "./executor.js";
import { nameKey } from "./names.js";
import type { Database } from "./schema.js";

export type PersonKey = [lnameKey: string, fnameKey: string, personId: number];

export interface PersonRow {
  person_id: number;
  fname: string;
  lname: string;
  fname_key: string;
  lname_key: string;
  timestamp: string;
  version: number;
}

export interface PersonNoteRow {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  version: number;
}

export interface Names {
  fname: string;
  lname: string;
}

/** What a write can run into besides success. */
export type NameTaken = "duplicate-name";
export type Missing = "not-found";
export type ChangedSince = "changed-since";
/** A row after an update that may have been a no-op (nothing differed). */
export type Updated<Row> = Row & { changed: boolean };

const personColumns = ["person_id", "fname", "lname", "fname_key", "lname_key", "timestamp", "version"] as const;
const noteColumns = ["note_id", "person_id", "content", "timestamp", "version"] as const;

const inListOrder = (db: Kysely<Database>, limit: number) =>
  db
    .selectFrom("person")
    .select(personColumns)
    .orderBy("lname_key")
    .orderBy("fname_key")
    .orderBy("person_id")
    .limit(limit);

const firstPage = prepareQuery((db, limit: number) => inListOrder(db, limit));
const pageAfter = prepareQuery((db, lnameKey: string, fnameKey: string, personId: number, limit: number) =>
  inListOrder(db, limit).where((eb) =>
    eb(eb.refTuple("lname_key", "fname_key", "person_id"), ">", eb.tuple(lnameKey, fnameKey, personId)),
  ),
);
const byId = prepareQuery((db, personId: number) =>
  db.selectFrom("person").select(personColumns).where("person_id", "=", personId),
);
/** The person, their row locked until the transaction ends (PostgreSQL), as a deletion reads them. */
const byIdForChange = prepareQuery({
  sqlite: (db, personId: number) => db.selectFrom("person").select(personColumns).where("person_id", "=", personId),
  postgres: (db, personId: number) =>
    db.selectFrom("person").select(personColumns).where("person_id", "=", personId).forUpdate(),
});
/** Several people at once; the ids arrive as one parameter, as in newestOfEach. */
const byIds = prepareQuery({
  sqlite: (db, personIds: string | number[]) =>
    db
      .selectFrom("person")
      .select(personColumns)
      .where("person_id", "in", (eb) =>
        eb.selectFrom(sql<{ value: number }>`json_each(${personIds})`.as("p")).select(sql<number>`p.value`.as("value")),
      ),
  postgres: (db, personIds: string | number[]) =>
    db.selectFrom("person").select(personColumns).where("person_id", "=", sql<number>`any(${personIds}::bigint[])`),
});
const byNameKeys = prepareQuery((db, fnameKey: string, lnameKey: string) =>
  db.selectFrom("person").select(personColumns).where("fname_key", "=", fnameKey).where("lname_key", "=", lnameKey),
);
const total = prepareQuery((db) =>
  db
    .selectFrom("table_count")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("value"), eb.lit(0)).as("total"))
    .where("name", "=", "person"),
);
const insert = prepareQuery((db, fname: string, lname: string, fnameKey: string, lnameKey: string, timestamp: string) =>
  db
    .insertInto("person")
    .values({ fname, lname, fname_key: fnameKey, lname_key: lnameKey, timestamp })
    .returning(personColumns),
);
/** Changes the names only when one really changes, and only while the version is the expected one (null: any). */
const update = prepareQuery(
  (
    db,
    personId: number,
    expectedVersion: number | null,
    fname: string,
    lname: string,
    fnameKey: string,
    lnameKey: string,
    timestamp: string,
  ) =>
    db
      .updateTable("person")
      .set((eb) => ({
        fname,
        lname,
        fname_key: fnameKey,
        lname_key: lnameKey,
        timestamp,
        version: eb("version", "+", 1),
      }))
      .where("person_id", "=", personId)
      .where((eb) =>
        eb.and([
          eb("version", "=", eb.fn.coalesce(eb.val(expectedVersion), eb.ref("version"))),
          eb.or([eb("fname", "!=", fname), eb("lname", "!=", lname)]),
        ]),
      )
      .returning(personColumns),
);
const remove = prepareQuery((db, personId: number, expectedVersion: number | null) =>
  db
    .deleteFrom("person")
    .where("person_id", "=", personId)
    .where("version", "=", (eb) => eb.fn.coalesce(eb.val(expectedVersion), eb.ref("version"))),
);

/**
 * The newest notes of each listed person, each person's read from the index and stopped at the
 * limit, so a person with a million notes costs what one with twenty does. The ids arrive as one
 * parameter, so the SQL is the same for every page size. Rows come grouped by nothing in
 * particular: sorting at most 20 per person is left to the caller's side (see newestNotes).
 */
const newestOfEach = prepareQuery({
  sqlite: (db, personIds: string | number[], perPerson: number) =>
    db
      .selectFrom(sql<{ value: number }>`json_each(${personIds})`.as("p"))
      .innerJoin("note as n", (join) =>
        join.on("n.note_id", "in", (eb) =>
          eb
            .selectFrom("note as i")
            .select("i.note_id")
            .where("i.person_id", "=", sql<number>`p.value`)
            .orderBy("i.timestamp", "desc")
            .orderBy("i.note_id", "desc")
            .limit(perPerson),
        ),
      )
      .select(noteColumns.map((column) => `n.${column}` as const)),
  postgres: (db, personIds: string | number[], perPerson: number) =>
    db
      .selectFrom("person as p")
      .innerJoinLateral(
        (eb) =>
          eb
            .selectFrom("note")
            .select(noteColumns)
            .whereRef("note.person_id", "=", "p.person_id")
            .orderBy("note.timestamp", "desc")
            .orderBy("note.note_id", "desc")
            .limit(perPerson)
            .as("n"),
        (join) => join.onTrue(),
      )
      .where("p.person_id", "=", sql<number>`any(${personIds}::bigint[])`)
      .select(noteColumns.map((column) => `n.${column}` as const)),
});

/** People in list order (last name, first name, id), starting after `after`; `limit` rows at most. */
export async function listPeople(ex: Executor, limit: number, after?: PersonKey): Promise<PersonRow[]> {
  const result = after ? await pageAfter.run(ex, after[0], after[1], after[2], limit) : await firstPage.run(ex, limit);
  return result.rows;
}

export function findPerson(ex: Executor, personId: number): Promise<PersonRow | undefined> {
  return byId.first(ex, personId);
}

/**
 * The person as a change in this transaction finds them, kept from other writers (and from new
 * notes, whose key check waits for the lock) until the transaction ends.
 */
export function findPersonForChange(ex: Executor, personId: number): Promise<PersonRow | undefined> {
  return byIdForChange.first(ex, personId);
}

/** The person whose names are these, as the service compares names (case and spacing aside). */
export function findPersonByName(ex: Executor, names: Names): Promise<PersonRow | undefined> {
  return byNameKeys.first(ex, nameKey(names.fname), nameKey(names.lname));
}

/** Ids as one parameter: SQLite reads them from a JSON array, PostgreSQL from an array. */
const idList = (ex: Executor, ids: readonly number[]): string | number[] =>
  ex.engine === "sqlite" ? JSON.stringify(ids) : [...ids];

/** The people of these ids that exist, in no particular order. */
export async function findPeople(ex: Executor, personIds: readonly number[]): Promise<PersonRow[]> {
  if (personIds.length === 0) return [];
  return (await byIds.run(ex, idList(ex, personIds))).rows;
}

export async function countPeople(ex: Executor): Promise<number> {
  return Number((await total.first(ex))?.total ?? 0);
}

/** The new person, or "duplicate-name" when someone has the same name as the service compares names. */
export async function insertPerson(ex: Executor, names: Names, timestamp: string): Promise<PersonRow | NameTaken> {
  try {
    const row = await insert.first(ex, names.fname, names.lname, nameKey(names.fname), nameKey(names.lname), timestamp);
    if (row === undefined) throw new Error("the insert returned no row");
    return row;
  } catch (error) {
    if (isNameTaken(error)) return "duplicate-name";
    throw error;
  }
}

/**
 * Changes the names (and the timestamp and version) only when a name really changes. With an
 * expected version the change happens only if nobody changed the person since. Returns the row as
 * it is afterwards, and whether it changed. Run it in a transaction: the update and the read-back are two statements.
 */
export async function updatePerson(
  ex: Executor,
  personId: number,
  names: Names,
  timestamp: string,
  expectedVersion?: number,
): Promise<Updated<PersonRow> | NameTaken | Missing | ChangedSince> {
  let changed: PersonRow | undefined;
  try {
    changed = await update.first(
      ex,
      personId,
      expectedVersion ?? null,
      names.fname,
      names.lname,
      nameKey(names.fname),
      nameKey(names.lname),
      timestamp,
    );
  } catch (error) {
    if (isNameTaken(error)) return "duplicate-name";
    throw error;
  }
  if (changed) return { ...changed, changed: true };
  const current = await findPerson(ex, personId);
  if (!current) return "not-found";
  if (expectedVersion !== undefined && current.version !== expectedVersion) return "changed-since";
  return { ...current, changed: false };
}

/**
 * Deletes the person (with an expected version, only if nobody changed them since); the database
 * deletes their notes, their notes' versions, their tokens and their account with them.
 */
export async function deletePerson(ex: Executor, personId: number, expectedVersion?: number): Promise<boolean> {
  return affected(await remove.run(ex, personId, expectedVersion ?? null)) > 0;
}

/** The newest `perPerson` notes of each person, newest first within a person. */
export async function newestNotes(
  ex: Executor,
  personIds: readonly number[],
  perPerson: number,
): Promise<PersonNoteRow[]> {
  if (personIds.length === 0) return [];
  const { rows } = await newestOfEach.run(ex, idList(ex, personIds), perPerson);
  return rows.sort(
    (a, b) =>
      a.person_id - b.person_id ||
      (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : b.note_id - a.note_id),
  );
}

function isNameTaken(error: unknown): boolean {
  return error instanceof ConstraintViolation && error.constraint === "person_name_unique";
}
