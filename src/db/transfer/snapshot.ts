/**
 * The one way transfer reads a database: a read snapshot, for an export and for the source of a
 * copy. Every read through it sees the database as it was at its first read, and it never holds up
 * a writer.
 *
 * - PostgreSQL: a `repeatable read, read only` transaction on one pooled connection (each read a
 *   statement with the pool's statement timeout).
 * - SQLite in a file: a read transaction on a connection of its own, `query_only`: the store's one
 *   connection stays free for requests, and in WAL mode writers carry on while it reads.
 * - SQLite in memory has no file to open twice: the store's own connection in a deferred read
 *   transaction, held until the snapshot closes. A caller that must not hold up the store's
 *   requests meanwhile (the server's export) passes `holdStore: false` and reads each page in a
 *   statement of its own instead, without one snapshot.
 */
import BetterSqlite3 from "better-sqlite3";
import { type CompiledQuery, type Kysely, type QueryResult, sql } from "kysely";
import type { Store } from "../database.js";
import { translate } from "../errors.js";
import type { Executor } from "../executor.js";
import type { Database } from "../schema.js";
import { BUSY_SLICE_MS } from "../sqlite.js";

/** Reads from one snapshot until closed. */
export interface Snapshot extends Executor {
  /** Ends the snapshot (and gives back its connection); closing twice does nothing. */
  close(): Promise<void>;
}

export interface SnapshotOptions {
  /** May the snapshot hold the store's own connection (SQLite in memory)? Yes unless said. */
  holdStore?: boolean;
}

export async function openSnapshot(store: Store, options: SnapshotOptions = {}): Promise<Snapshot> {
  try {
    if (store.engine === "postgres") {
      return await onHeldConnection(store, sql`begin isolation level repeatable read, read only`);
    }
    const file = await databaseFile(store);
    if (file) return ownConnection(file);
    if (options.holdStore === false) return unsnapshotted(store);
    return await onHeldConnection(store, sql`begin deferred`);
  } catch (error) {
    throw translate(error);
  }
}

/** Runs `work` on a snapshot of `store` and closes it however `work` ends. */
export async function readSnapshot<T>(store: Store, work: (snapshot: Executor) => Promise<T>): Promise<T> {
  const snapshot = await openSnapshot(store);
  try {
    return await work(snapshot);
  } finally {
    await snapshot.close();
  }
}

async function databaseFile(store: Store): Promise<string | undefined> {
  const { rows } = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(
    store.db,
  );
  return rows[0]?.file || undefined;
}

/** One of the store's connections, kept out of its pool (or its turn) until the snapshot closes. */
async function onHeldConnection(store: Store, begin: ReturnType<typeof sql>): Promise<Snapshot> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held: Promise<void> = Promise.resolve();
  const connection = await new Promise<Kysely<Database>>((resolve, reject) => {
    held = store.db
      .connection()
      .execute(async (connection) => {
        resolve(connection);
        await released;
      })
      .catch(reject);
  });
  try {
    await begin.execute(connection);
  } catch (error) {
    release();
    await held;
    throw error;
  }
  let closed = false;
  return {
    engine: store.engine,
    executeQuery: (query) => connection.executeQuery(query),
    executeQueryFirst: async (query) => (await connection.executeQuery(query)).rows[0],
    close: async () => {
      if (closed) return;
      closed = true;
      await sql`rollback`.execute(connection).catch(() => {});
      release();
      await held;
    },
  };
}

function ownConnection(file: string): Snapshot {
  const connection = new BetterSqlite3(file, { fileMustExist: true, timeout: BUSY_SLICE_MS });
  try {
    connection.pragma("query_only = true");
    connection.exec("begin");
  } catch (error) {
    connection.close();
    throw error;
  }
  const statements = new Map<string, BetterSqlite3.Statement>();
  const run = <R>({ sql: text, parameters }: CompiledQuery<R>): QueryResult<R> => {
    try {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = connection.prepare(text);
        statements.set(text, statement);
      }
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      statement.run(parameters);
      return { rows: [] };
    } catch (error) {
      throw translate(error);
    }
  };
  return {
    engine: "sqlite",
    executeQuery: async (query) => run(query),
    executeQueryFirst: async (query) => run(query).rows[0],
    close: async () => {
      if (!connection.open) return;
      if (connection.inTransaction) connection.exec("rollback");
      connection.close();
    },
  };
}

function unsnapshotted(store: Store): Snapshot {
  return {
    engine: store.engine,
    executeQuery: (query) => store.executeQuery(query),
    executeQueryFirst: (query) => store.executeQueryFirst(query),
    close: async () => {},
  };
}
