/**
 * What moving every person and note in bulk needs, for `db copy`, `export` and `import`: reading a
 * table in keyset batches, multi-row inserts, clearing a target, keeping identities ahead of
 * explicit ids, and the checksum and checks that verify a load before it commits.
 */
import { createHash } from "node:crypto";
import { type Compilable, type Kysely, type RawBuilder, type Selectable, sql } from "kysely";
import type { Store } from "./database.js";
import type { Executor } from "./executor.js";
import { migrations } from "./migrations/index.js";
import { countNotes } from "./notes-repository.js";
import { countPeople } from "./people-repository.js";
import type { Database, Engine, NoteTable, PersonTable } from "./schema.js";

export const DEFAULT_BATCH_ROWS = 5_000;
/**
 * Rows per INSERT: at 7 values a person, 28,000 parameters, below SQLite's 32,766 (and PostgreSQL's
 * 65,535). Each such statement takes about 0.2 s on PostgreSQL, with its count triggers, far below
 * the 5 s statement timeout; 1,000 rows a statement made the 1m copy about 10 % slower.
 */
export const INSERT_ROWS = 4_000;
/** Below every id the service can hand out, so the first page starts at the very first row. */
export const BEFORE_FIRST_ID = -Number.MAX_SAFE_INTEGER;

/** How far a bulk phase is: rows done so far out of the rows it will handle. */
export interface BulkProgress<Phase extends string> {
  phase: Phase;
  done: number;
  total: number;
  /** What `done` and `total` count; rows unless said otherwise. */
  unit?: string;
}

/** The databases are not in a state to load from or into; nothing was changed. */
export class RefusedError extends Error {
  override name = "RefusedError";
}

/** What was loaded is not what was meant to be; the transaction was rolled back. */
export class VerificationError extends Error {
  override name = "VerificationError";
}

export type Progress<Phase extends string> = (progress: BulkProgress<Phase>) => void | Promise<void>;

/** What one side holds: row counts and a SHA-256 over every row's fields in id order (see RowDigest). */
export interface RowSummary {
  people: number;
  notes: number;
  checksum: string;
}

export const PERSON_COLUMNS = [
  "person_id",
  "fname",
  "lname",
  "fname_key",
  "lname_key",
  "timestamp",
  "version",
] as const;
export const NOTE_COLUMNS = ["note_id", "person_id", "content", "timestamp", "version"] as const;
export type PersonRow = Selectable<PersonTable>;
export type NoteRow = Selectable<NoteTable>;

/** Runs a query built on the right Kysely instance, on a read snapshot or in the target's transaction. */
export type Runner = <Row>(build: (db: Kysely<Database>) => Compilable<Row>) => Promise<Row[]>;

/** A raw statement as a query a Runner takes. */
export const raw =
  <Row>(query: RawBuilder<Row>) =>
  (db: Kysely<Database>): Compilable<Row> => ({ compile: () => query.compile(db) });

/** Kysely only compiles here; the statements run on the unit of work's executor. */
export const onExecutor =
  (executor: Executor, compiler: Kysely<Database>): Runner =>
  async (build) =>
    (await executor.executeQuery(build(compiler).compile())).rows;

/**
 * Reading from an older schema would miss columns; a source is never changed, so it is not migrated
 * here. The applied migrations are read from Kysely's table in the store's own schema: Kysely's
 * migrator would first list the tables of every schema on the server, which fails when another
 * schema is being dropped meanwhile.
 */
export async function requireLatestSchema(store: Store, what: string): Promise<void> {
  await requireSchema(store);
  const applied = new Set(await appliedMigrations(store));
  const pending = Object.keys(migrations(store.engine)).filter((name) => !applied.has(name));
  if (applied.size === 0) {
    throw new RefusedError(`${what} has no people-notes tables`);
  }
  if (pending.length > 0) {
    throw new RefusedError(`${what} is not at the latest schema (missing ${pending.join(", ")}); migrate it first`);
  }
}

async function appliedMigrations(store: Store): Promise<string[]> {
  const exists =
    store.engine === "postgres"
      ? sql<{ found: string | null }>`select to_regclass('kysely_migration')::text as found`
      : sql<{
          found: string | null;
        }>`select name as found from sqlite_master where type = 'table' and name = 'kysely_migration'`;
  const { rows } = await exists.execute(store.db);
  if (!rows[0]?.found) return [];
  const names = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
  return names.rows.map((row) => row.name);
}

/** A PostgreSQL URL's `?schema=` must name a schema that exists; nothing else would say so clearly. */
export async function requireSchema(store: Store): Promise<void> {
  if (store.engine !== "postgres") return;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
  if (!rows[0]?.schema) throw new RefusedError("the PostgreSQL schema named in the URL does not exist");
}

/**
 * A read transaction on the source for the whole copy: PostgreSQL `repeatable read` (one snapshot),
 * SQLite a deferred transaction (its snapshot starts at the first read; in WAL mode writers carry on).
 * It holds the source store's connection (on SQLite, its turn) until the copy has read everything.
 */
export async function readSnapshot<T>(source: Store, work: (snapshot: Executor) => Promise<T>): Promise<T> {
  const begin =
    source.engine === "postgres" ? sql`begin isolation level repeatable read, read only` : sql`begin deferred`;
  return source.db.connection().execute(async (connection) => {
    await begin.execute(connection);
    const snapshot: Executor = {
      engine: source.engine,
      executeQuery: (query) => connection.executeQuery(query),
      executeQueryFirst: async (query) => (await connection.executeQuery(query)).rows[0],
    };
    try {
      return await work(snapshot);
    } finally {
      await sql`rollback`.execute(connection).catch(() => {});
    }
  });
}

export async function keptCounts(ex: Executor): Promise<{ people: number; notes: number }> {
  return { people: await countPeople(ex), notes: await countNotes(ex) };
}

/** Rows can exist without being counted only if the counts went wrong; a refusal must not rely on them. */
export async function hasRows(run: Runner): Promise<boolean> {
  const people = await run((db) => db.selectFrom("person").select("person_id").limit(1));
  const notes = await run((db) => db.selectFrom("note").select("note_id").limit(1));
  return people.length > 0 || notes.length > 0;
}

const personPage = (after: number, limit: number) => (db: Kysely<Database>) =>
  db.selectFrom("person").select(PERSON_COLUMNS).where("person_id", ">", after).orderBy("person_id").limit(limit);

const notePage = (after: number, limit: number) => (db: Kysely<Database>) =>
  db.selectFrom("note").select(NOTE_COLUMNS).where("note_id", ">", after).orderBy("note_id").limit(limit);

/** Pages through a table in id order; each page starts after the last id of the one before. */
export async function* keyset<Row>(
  fetch: (after: number) => Promise<Row[]>,
  idOf: (row: Row) => number,
  limit: number,
): AsyncGenerator<Row[]> {
  let after = BEFORE_FIRST_ID;
  for (;;) {
    const rows = await fetch(after);
    if (rows.length > 0) yield rows;
    const last = rows.at(-1);
    if (last === undefined || rows.length < limit) return;
    after = idOf(last);
  }
}

export const people = (run: Runner, limit: number) =>
  keyset(
    (after) => run(personPage(after, limit)),
    (row) => row.person_id,
    limit,
  );
export const notes = (run: Runner, limit: number) =>
  keyset(
    (after) => run(notePage(after, limit)),
    (row) => row.note_id,
    limit,
  );

/**
 * The checksum: SHA-256 over one line per row, people by id and then notes by id, each line the JSON
 * array of the table's name and the row's fields in column order. Ids, versions and counts as
 * numbers, timestamps as the ISO strings both engines hand out, text as it is stored.
 */
export class RowDigest {
  readonly #hash = createHash("sha256");
  people = 0;
  notes = 0;

  addPeople(rows: PersonRow[]): void {
    for (const row of rows) {
      const fields = [row.person_id, row.fname, row.lname, row.fname_key, row.lname_key, row.timestamp, row.version];
      this.#hash.update(`${JSON.stringify(["person", ...fields.map(canonical)])}\n`);
    }
    this.people += rows.length;
  }

  addNotes(rows: NoteRow[]): void {
    for (const row of rows) {
      const fields = [row.note_id, row.person_id, row.content, row.timestamp, row.version];
      this.#hash.update(`${JSON.stringify(["note", ...fields.map(canonical)])}\n`);
    }
    this.notes += rows.length;
  }

  summary(): RowSummary {
    return { people: this.people, notes: this.notes, checksum: this.#hash.digest("hex") };
  }
}

/** A driver may hand a big integer out as a string or a bigint; the checksum sees the number. */
const canonical = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value);

export async function insertAll<Row>(
  write: Runner,
  rows: Row[],
  insert: (chunk: Row[]) => (db: Kysely<Database>) => Compilable<unknown>,
): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_ROWS) {
    await write(insert(rows.slice(start, start + INSERT_ROWS)));
  }
}

/**
 * Deletes the target's notes, then its people, a batch of ids at a time, so each statement stays
 * small and the delete triggers keep the counts. Notes go first: deleting a person would otherwise
 * cascade to all their notes in one statement.
 */
export async function clear(
  write: Runner,
  held: { people: number; notes: number },
  batchRows: number,
  progress: Progress<"clearing">,
): Promise<void> {
  const total = held.people + held.notes;
  let done = 0;
  for (const { ids, deleteRange } of [NOTE_IDS, PERSON_IDS]) {
    for await (const rows of keyset(
      (after) => write(ids(after, batchRows)),
      (row) => row.id,
      batchRows,
    )) {
      await write(deleteRange(rows[0]?.id ?? 0, rows.at(-1)?.id ?? 0));
      done += rows.length;
      await progress({ phase: "clearing", done, total });
    }
  }
}

const NOTE_IDS = {
  ids: (after: number, limit: number) => (db: Kysely<Database>) =>
    db.selectFrom("note").select("note_id as id").where("note_id", ">", after).orderBy("note_id").limit(limit),
  deleteRange: (first: number, last: number) => (db: Kysely<Database>) =>
    db.deleteFrom("note").where("note_id", ">=", first).where("note_id", "<=", last),
};

const PERSON_IDS = {
  ids: (after: number, limit: number) => (db: Kysely<Database>) =>
    db.selectFrom("person").select("person_id as id").where("person_id", ">", after).orderBy("person_id").limit(limit),
  deleteRange: (first: number, last: number) => (db: Kysely<Database>) =>
    db.deleteFrom("person").where("person_id", ">=", first).where("person_id", "<=", last),
};

const IDENTITIES = {
  person: {
    column: "person_id",
    top: (db: Kysely<Database>) => db.selectFrom("person").select((eb) => eb.fn.max("person_id").as("top")),
  },
  note: {
    column: "note_id",
    top: (db: Kysely<Database>) => db.selectFrom("note").select((eb) => eb.fn.max("note_id").as("top")),
  },
  token: {
    column: "token_id",
    top: (db: Kysely<Database>) => db.selectFrom("token").select((eb) => eb.fn.max("token_id").as("top")),
  },
} as const;

/**
 * The next generated id must come after every copied one. The count triggers already move
 * PostgreSQL's identity sequences past explicit people and note ids, and AUTOINCREMENT does it on
 * SQLite; this checks that it happened and sets the sequence itself when it did not.
 */
export async function keepIdentitiesAhead(
  write: Runner,
  engine: Engine,
  tables: readonly (keyof typeof IDENTITIES)[] = ["person", "note"],
): Promise<void> {
  for (const table of tables) {
    const { column, top: highest } = IDENTITIES[table];
    const [row] = await write(highest);
    const top = row?.top === null || row?.top === undefined ? undefined : Number(row.top);
    if (top === undefined) continue;
    if (engine === "postgres") {
      const [found] = await write(
        raw(sql<{ sequence: string }>`select pg_get_serial_sequence(${table}, ${column}) as sequence`),
      );
      if (!found?.sequence) throw new VerificationError(`no identity sequence for ${table}.${column}`);
      const sequence = found.sequence;
      const [state] = await write(
        raw(sql<{ last: number | null }>`select pg_sequence_last_value(${sequence}::regclass) as last`),
      );
      if (state?.last === null || state?.last === undefined || Number(state.last) < top) {
        await write(raw(sql`select setval(${sequence}::regclass, ${top})`));
      }
    } else {
      const [state] = await write(raw(sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`));
      if (state === undefined) {
        await write(raw(sql`insert into sqlite_sequence (name, seq) values (${table}, ${top})`));
      } else if (Number(state.seq) < top) {
        await write(raw(sql`update sqlite_sequence set seq = ${top} where name = ${table}`));
      }
    }
  }
}

/**
 * Inside the target's transaction, before it commits: the rows read back must give the expected
 * counts and checksum (when there are any: a merge has none), the kept table counts must match the
 * rows, and so must every person's kept note count. Returns what was found and every problem; the
 * caller throws, and the transaction rolls back.
 */
export async function verifyLoad(
  tx: Executor,
  write: Runner,
  expected: RowSummary | undefined,
  batchRows: number,
  progress: Progress<"verifying">,
  source = "the source",
): Promise<{ found: RowSummary; problems: string[] }> {
  const total = expected
    ? expected.people + expected.notes
    : Object.values(await keptCounts(tx)).reduce((a, b) => a + b);
  const digest = new RowDigest();
  for await (const rows of people(write, batchRows)) {
    digest.addPeople(rows);
    await progress({ phase: "verifying", done: digest.people, total });
  }
  for await (const rows of notes(write, batchRows)) {
    digest.addNotes(rows);
    await progress({ phase: "verifying", done: digest.people + digest.notes, total });
  }
  const found = digest.summary();
  const problems: string[] = [];
  if (expected && (found.people !== expected.people || found.notes !== expected.notes)) {
    problems.push(
      `${source} has ${expected.people} people and ${expected.notes} notes, the target ${found.people} and ${found.notes}`,
    );
  } else if (expected && found.checksum !== expected.checksum) {
    problems.push(
      `checksums differ: ${source.replace(/^the /, "")} sha256 ${expected.checksum}, target sha256 ${found.checksum}`,
    );
  }
  const kept = await keptCounts(tx);
  if (kept.people !== found.people || kept.notes !== found.notes) {
    problems.push(
      `the target's kept counts say ${kept.people} people and ${kept.notes} notes, its rows are ${found.people} and ${found.notes}`,
    );
  }
  problems.push(...(await personCountProblems(write, found.notes, batchRows)));
  return { found, problems };
}

/** Every person's kept note count against their notes, a batch of people at a time. */
export async function personCountProblems(write: Runner, notes: number, batchRows: number): Promise<string[]> {
  let wrong = 0;
  const someWrong: number[] = [];
  for await (const rows of keyset(
    (after) =>
      write((db) =>
        db
          .selectFrom("person as p")
          .select((eb) => [
            "p.person_id",
            eb
              .selectFrom("note as n")
              .whereRef("n.person_id", "=", "p.person_id")
              .select((sub) => sub.fn.countAll<number>().as("n"))
              .as("notes"),
            eb
              .selectFrom("person_note_count as c")
              .whereRef("c.person_id", "=", "p.person_id")
              .select((sub) => sub.fn.sum<number>("c.value").as("v"))
              .as("counted"),
          ])
          .where("p.person_id", ">", after)
          .orderBy("p.person_id")
          .limit(batchRows),
      ),
    (row) => row.person_id,
    batchRows,
  )) {
    for (const row of rows) {
      if (Number(row.notes ?? 0) === Number(row.counted ?? 0)) continue;
      wrong += 1;
      if (someWrong.length < 5) someWrong.push(row.person_id);
    }
  }
  const [all] = await write((db) =>
    db.selectFrom("person_note_count").select((eb) => eb.fn.sum<number>("value").as("total")),
  );
  const problems: string[] = [];
  if (wrong > 0) {
    problems.push(
      `${wrong} people's kept note counts are wrong (person ids ${someWrong.join(", ")}${wrong > 5 ? ", …" : ""})`,
    );
  }
  if (Number(all?.total ?? 0) !== notes) {
    problems.push(`the kept note counts of all people add up to ${Number(all?.total ?? 0)}, not ${notes}`);
  }
  return problems;
}
