/**
 * Reads every person and then every note, in id order, from one snapshot, a keyset batch at a
 * time: memory holds one batch, however large the database. The snapshot never holds up anyone
 * else. On PostgreSQL it is a `repeatable read, read only` transaction on one pooled connection
 * (each batch a statement with the pool's statement timeout). On SQLite it is a read transaction
 * on a connection of its own: the store's one connection stays free for requests, and in WAL mode
 * writers carry on while the export reads.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import { type ControlledTransaction, sql } from "kysely";
import { BEFORE_FIRST_ID, keptCounts } from "./bulk.js";
import type { Store } from "./database.js";
import { translate } from "./errors.js";
import type { Database } from "./schema.js";
import { BUSY_SLICE_MS } from "./sqlite.js";

/** Rows per query when the server streams an export: small enough to keep every turn short. */
export const EXPORT_BATCH_ROWS = 1_000;

export interface ExportedPerson {
  person_id: number;
  fname: string;
  lname: string;
  timestamp: string;
  version: number;
}

export interface ExportedNote {
  note_id: number;
  person_id: number;
  content: string;
  timestamp: string;
  version: number;
}

export type ExportBatch = { kind: "person"; rows: ExportedPerson[] } | { kind: "note"; rows: ExportedNote[] };

export interface ExportOptions {
  batchRows?: number;
  /** Wait for the next turn of the event loop between batches, so a server keeps answering others. */
  yieldBetweenBatches?: boolean;
}

/** One snapshot's pages, and its end. */
interface SnapshotReader {
  people(after: number, limit: number): Promise<ExportedPerson[]>;
  notes(after: number, limit: number): Promise<ExportedNote[]>;
  close(): Promise<void>;
}

const PEOPLE_SQL =
  "select person_id, fname, lname, timestamp, version from person where person_id > ? order by person_id limit ?";
const NOTES_SQL =
  "select note_id, person_id, content, timestamp, version from note where note_id > ? order by note_id limit ?";

async function postgresReader(store: Store): Promise<SnapshotReader> {
  const trx: ControlledTransaction<Database> = await store.db
    .startTransaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute();
  return {
    people: (after, limit) =>
      trx
        .selectFrom("person")
        .select(["person_id", "fname", "lname", "timestamp", "version"])
        .where("person_id", ">", after)
        .orderBy("person_id")
        .limit(limit)
        .execute(),
    notes: (after, limit) =>
      trx
        .selectFrom("note")
        .select(["note_id", "person_id", "content", "timestamp", "version"])
        .where("note_id", ">", after)
        .orderBy("note_id")
        .limit(limit)
        .execute(),
    close: async () => {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
    },
  };
}

async function sqliteReader(store: Store): Promise<SnapshotReader> {
  const { rows } = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(
    store.db,
  );
  const file = rows[0]?.file;
  if (!file) return unsnapshottedReader(store);
  const connection = new BetterSqlite3(file, { fileMustExist: true, timeout: BUSY_SLICE_MS });
  try {
    connection.pragma("query_only = true");
    connection.exec("begin");
  } catch (error) {
    connection.close();
    throw error;
  }
  const people = connection.prepare(PEOPLE_SQL);
  const notes = connection.prepare(NOTES_SQL);
  return {
    people: async (after, limit) => people.all(after, limit) as ExportedPerson[],
    notes: async (after, limit) => notes.all(after, limit) as ExportedNote[],
    close: async () => {
      if (connection.inTransaction) connection.exec("rollback");
      connection.close();
    },
  };
}

/** An in-memory SQLite database has no file to open twice; its pages are read one statement each. */
function unsnapshottedReader(store: Store): SnapshotReader {
  return {
    people: (after, limit) =>
      store.db
        .selectFrom("person")
        .select(["person_id", "fname", "lname", "timestamp", "version"])
        .where("person_id", ">", after)
        .orderBy("person_id")
        .limit(limit)
        .execute(),
    notes: (after, limit) =>
      store.db
        .selectFrom("note")
        .select(["note_id", "person_id", "content", "timestamp", "version"])
        .where("note_id", ">", after)
        .orderBy("note_id")
        .limit(limit)
        .execute(),
    close: async () => {},
  };
}

/** How many people and notes there are now (the kept counts): for progress, not for the file. */
export const exportTotals = (store: Store) => keptCounts(store);

/**
 * Every person, then every note, each by id, from one snapshot. Ends the snapshot when iteration
 * ends, also early (a client that went away).
 */
export async function* exportBatches(store: Store, options: ExportOptions = {}): AsyncGenerator<ExportBatch> {
  const limit = options.batchRows ?? EXPORT_BATCH_ROWS;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError("batchRows must be a whole number ≥ 1");
  let reader: SnapshotReader;
  try {
    reader = store.engine === "postgres" ? await postgresReader(store) : await sqliteReader(store);
  } catch (error) {
    throw translate(error);
  }
  try {
    for (const kind of ["person", "note"] as const) {
      let after = BEFORE_FIRST_ID;
      for (;;) {
        let batch: ExportBatch;
        try {
          batch =
            kind === "person"
              ? { kind, rows: await reader.people(after, limit) }
              : { kind, rows: await reader.notes(after, limit) };
        } catch (error) {
          throw translate(error);
        }
        if (batch.rows.length > 0) yield batch;
        const last = batch.rows.at(-1);
        if (last === undefined || batch.rows.length < limit) break;
        after = batch.kind === "person" ? (last as ExportedPerson).person_id : (last as ExportedNote).note_id;
        if (options.yieldBetweenBatches) await nextTurn();
      }
    }
  } finally {
    await reader.close();
  }
}
