import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import { NO_SIGNALS } from "./changes/signals.js";
import { DatabaseUnavailableError, isBusy, translate } from "./errors.js";
import type { EngineConnection, Executor } from "./executor.js";
import type { StoreLog } from "./log.js";
import { Mutex } from "./mutex.js";

const STATEMENT_CACHE_SIZE = 200;
/**
 * How long opening a connection and the final checkpoint at close may wait for another connection
 * (one recovering the log, say). better-sqlite3 waits for a lock synchronously, freezing the event
 * loop, so every other wait happens between turns instead.
 */
export const BUSY_SLICE_MS = 20;
/**
 * Pauses between tries for a lock another process holds (SQLite's own busy handler sleeps much the
 * same, but on the event loop); the last one repeats.
 */
const POLL_MS = [1, 2, 5, 10, 15, 20, 25];
const pollDelay = (tries: number) => POLL_MS[Math.min(tries, POLL_MS.length - 1)] as number;

export interface SqliteOptions {
  path: string;
  /** How long a write waits for another process's lock before answering "unavailable". */
  lockTimeoutMs: number;
  log: StoreLog;
}

interface Statement {
  reader: boolean;
  readonly: boolean;
  all(parameters: ReadonlyArray<unknown>): unknown[];
  get(parameters: ReadonlyArray<unknown>): unknown;
  run(parameters: ReadonlyArray<unknown>): { changes: number; lastInsertRowid: number | bigint };
}

/**
 * One connection, with the durability and concurrency settings the service relies on: WAL (readers
 * never block the writer), synchronous=FULL (a commit is on disk before its 2xx), foreign keys
 * (cascading deletes).
 *
 * Every use of the connection takes its turn through one mutex: a statement of a request never runs
 * inside another unit of work's open transaction. When nothing holds the connection, a statement
 * runs at once (better-sqlite3 is synchronous, so nothing can interleave with it).
 *
 * Nothing waits for a lock on the event loop (busy_timeout is 0): the process's writers line up for
 * the write lock, the first in line tries it between turns while another process holds it, and the
 * connection is free for reads between its tries (see beginWrite).
 */
export function openSqlite({ path, lockTimeoutMs, log }: SqliteOptions): EngineConnection {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const raw = new BetterSqlite3(path, { timeout: BUSY_SLICE_MS });
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  raw.pragma("busy_timeout = 0");
  const prepare = statementCache(raw);
  /** The connection: one statement, or one unit of work, at a time. */
  const turn = new Mutex();
  /** This process's writers, in line for the write lock; the first holds it until its commit. */
  const writers = new Mutex();

  function runNow<R>({ sql, parameters }: CompiledQuery<R>): QueryResult<R> {
    try {
      const statement = prepare(sql);
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
    } catch (error) {
      throw translate(error);
    }
  }

  function firstNow<R>({ sql, parameters }: CompiledQuery<R>): R | undefined {
    try {
      return prepare(sql).get(parameters) as R | undefined;
    } catch (error) {
      throw translate(error);
    }
  }

  /** True when the statement changes the database (and so needs the write lock). */
  function writes(sql: string): boolean {
    try {
      return !prepare(sql).readonly;
    } catch {
      return false; // it fails again, with its own error, when it runs
    }
  }

  /** Runs `work` on the connection when it is its turn; at once when nobody holds the connection. */
  async function inTurn<T>(work: () => T): Promise<T> {
    if (!turn.locked) return work();
    await turn.lock();
    try {
      return work();
    } finally {
      turn.unlock();
    }
  }

  /**
   * A read that finds the database locked (rare in WAL mode: another connection recovering or
   * restarting the log) is tried again after a pause, letting this process serve other requests
   * meanwhile, until the lock budget is spent.
   */
  async function withBusyRetry<T>(attempt: () => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + lockTimeoutMs;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        const busy = isBusy(error) || isBusy((error as { cause?: unknown }).cause);
        if (!busy) throw error;
        if (Date.now() >= giveUpAt) {
          throw new DatabaseUnavailableError("another connection held the database's lock too long", {
            cause: error,
          });
        }
        await sleep(Math.min(pollDelay(tries), Math.max(giveUpAt - Date.now(), 0)));
      }
    }
  }

  /**
   * Takes the write lock for a unit of work: first this process's line of writers, then SQLite's
   * lock (`begin immediate`). Each try answers at once; while another process holds the lock the
   * next try comes on a timer, with the connection free for reads in between. A writer that has
   * not begun within the lock timeout, counted from its call, is refused as unavailable, having
   * changed nothing. Resolves holding both the line and the connection (release with endWrite).
   */
  async function beginWrite(): Promise<void> {
    const giveUpAt = Date.now() + lockTimeoutMs;
    if (!(await writers.lockWithin(lockTimeoutMs))) {
      throw new DatabaseUnavailableError("the database's write lock was not free within the lock timeout");
    }
    try {
      for (let tries = 0; ; tries++) {
        await turn.lock();
        try {
          raw.exec("begin immediate");
          return;
        } catch (error) {
          turn.unlock();
          if (!isBusy(error)) throw translate(error);
          const left = giveUpAt - Date.now();
          if (left <= 0) {
            throw new DatabaseUnavailableError("another process held the database's write lock too long", {
              cause: translate(error),
            });
          }
          await sleep(Math.min(pollDelay(tries), left));
        }
      }
    } catch (error) {
      writers.unlock();
      throw error;
    }
  }

  function endWrite(): void {
    turn.unlock();
    writers.unlock();
  }

  /** Runs `work` in a write transaction: committed when it resolves, rolled back when it throws. */
  async function inWriteTransaction<T>(work: () => Promise<T>): Promise<T> {
    await beginWrite();
    try {
      const result = await work();
      raw.exec("commit");
      return result;
    } catch (error) {
      if (raw.inTransaction) raw.exec("rollback");
      throw translate(error);
    } finally {
      endWrite();
    }
  }

  // A statement that writes takes the write lock in line with the transactions.
  const direct: Executor = {
    engine: "sqlite",
    executeQuery: (query) =>
      writes(query.sql)
        ? inWriteTransaction(async () => runNow(query))
        : withBusyRetry(() => inTurn(() => runNow(query))),
    executeQueryFirst: (query) =>
      writes(query.sql)
        ? inWriteTransaction(async () => firstNow(query))
        : withBusyRetry(() => inTurn(() => firstNow(query))),
  };
  // Inside a transaction this unit of work already holds the connection.
  const owned: Executor = {
    engine: "sqlite",
    executeQuery: async (query) => runNow(query),
    executeQueryFirst: async (query) => firstNow(query),
  };

  // Kysely holds the connection from acquire to release; a transaction of its own lets go of the
  // connection while it waits in line for the write lock.
  let kyselyWrite = false;
  /** Leaves the line of writers once Kysely's transaction has ended (a failed commit is rolled back next). */
  const endKyselyWrite = () => {
    if (kyselyWrite && !raw.inTransaction) {
      kyselyWrite = false;
      writers.unlock();
    }
  };
  const store: EngineConnection = {
    ...direct,
    transaction: (work) => inWriteTransaction(() => work(owned)),
    dialect: guardedDialect({
      acquire: () => turn.lock(),
      release: () => turn.unlock(),
      execute: (query) => withBusyRetry(async () => runNow(query)),
      begin: async () => {
        turn.unlock();
        try {
          await beginWrite();
        } catch (error) {
          await turn.lock();
          throw error;
        }
        kyselyWrite = true;
      },
      commit: async () => {
        try {
          raw.exec("commit");
        } catch (error) {
          throw translate(error);
        } finally {
          endKyselyWrite();
        }
      },
      rollback: async () => {
        try {
          if (raw.inTransaction) raw.exec("rollback");
        } catch (error) {
          throw translate(error);
        } finally {
          endKyselyWrite();
        }
      },
    }),
    ping: async () => {
      await direct.executeQuery(CompiledQuery.raw("select 1"));
    },
    connections: () => ({ open: 1, idle: turn.locked ? 0 : 1, waiting: turn.queued + writers.queued }),
    changeSignals: NO_SIGNALS,
    close: async () => {
      await turn.lock();
      raw.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
      checkpoint(raw, path, log);
      raw.close();
    },
  };
  return store;
}

/**
 * Moves everything in the WAL into the main file. When it cannot (a reader still open elsewhere, a
 * full disk), committed data stays in the `-wal` file, which is then part of the database.
 */
function checkpoint(raw: BetterSqlite3.Database, path: string, log: StoreLog): void {
  if (path === ":memory:") return;
  try {
    const [result] = raw.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
    if (result && result.busy !== 0) {
      log.error(
        { walFrames: result.log, checkpointed: result.checkpointed },
        `final WAL checkpoint did not complete: ${path}-wal holds committed data and must be kept with the database`,
      );
    }
  } catch (error) {
    log.error(
      { err: error },
      `final WAL checkpoint failed: ${path}-wal holds committed data and must be kept with the database`,
    );
  }
}

/** better-sqlite3 parses SQL on every prepare(); keep the statements used most recently. */
function statementCache(raw: BetterSqlite3.Database): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = raw.prepare(sql) as unknown as Statement;
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    } else {
      cache.delete(sql);
    }
    cache.set(sql, statement);
    return statement;
  };
}

interface Turns {
  acquire(): Promise<void>;
  release(): void;
  execute<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
  /** Takes the write lock for a transaction, the connection held. */
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Kysely's own queries (migrations, seeding, the CLI) take the same turns as the requests' statements. */
function guardedDialect(turns: Turns): Dialect {
  const connection: DatabaseConnection = {
    executeQuery: <R>(query: CompiledQuery) => turns.execute(query) as Promise<QueryResult<R>>,
    // biome-ignore lint/correctness/useYield: streaming is not offered on this connection
    async *streamQuery() {
      throw new Error("streaming queries are not supported");
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => {
      await turns.acquire();
      return connection;
    },
    beginTransaction: () => turns.begin(),
    commitTransaction: () => turns.commit(),
    rollbackTransaction: () => turns.rollback(),
    releaseConnection: async () => turns.release(),
    destroy: async () => {},
  };
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}
