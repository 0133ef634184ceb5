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
import { NO_SIGNALS } from "./change-signals.js";
import { DatabaseUnavailableError, isBusy, translate } from "./errors.js";
import type { EngineConnection, Executor } from "./executor.js";
import type { StoreLog } from "./log.js";
import { Mutex } from "./mutex.js";

const STATEMENT_CACHE_SIZE = 200;
/**
 * better-sqlite3 waits for another process's write lock synchronously, freezing the event loop,
 * so each wait is kept this short and the rest of the wait happens between turns (see withBusyRetry).
 */
export const BUSY_SLICE_MS = 20;
const BACKOFF_MS = [5, 10, 20, 40, 80];

export interface SqliteOptions {
  path: string;
  /** How long a write waits for another process's lock before answering "unavailable". */
  lockTimeoutMs: number;
  log: StoreLog;
}

interface Statement {
  reader: boolean;
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
 */
export function openSqlite({ path, lockTimeoutMs, log }: SqliteOptions): EngineConnection {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const raw = new BetterSqlite3(path, { timeout: BUSY_SLICE_MS });
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  const prepare = statementCache(raw);
  const turn = new Mutex();

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
   * Another process holds the write lock: try again after a pause, letting this process serve other
   * requests meanwhile, until the lock budget is spent.
   */
  async function withBusyRetry<T>(attempt: () => Promise<T>, between?: () => void): Promise<T> {
    const giveUpAt = Date.now() + lockTimeoutMs;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        const busy = isBusy(error) || isBusy((error as { cause?: unknown }).cause);
        if (!busy) throw error;
        if (Date.now() >= giveUpAt) {
          throw new DatabaseUnavailableError("another process held the database's write lock too long", {
            cause: error,
          });
        }
        between?.();
        await sleep(BACKOFF_MS[Math.min(tries, BACKOFF_MS.length - 1)]);
      }
    }
  }

  const direct: Executor = {
    engine: "sqlite",
    executeQuery: (query) => withBusyRetry(() => inTurn(() => runNow(query))),
    executeQueryFirst: (query) => withBusyRetry(() => inTurn(() => firstNow(query))),
  };
  // Inside a transaction this unit of work already holds the connection.
  const owned: Executor = {
    engine: "sqlite",
    executeQuery: async (query) => runNow(query),
    executeQueryFirst: async (query) => firstNow(query),
  };

  /** Takes the connection and the write lock; the connection is let go between tries. */
  async function begin(): Promise<void> {
    await withBusyRetry(async () => {
      await turn.lock();
      try {
        raw.exec("begin immediate");
      } catch (error) {
        turn.unlock();
        throw translate(error);
      }
    });
  }

  async function endTransaction<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      raw.exec("commit");
      return result;
    } catch (error) {
      if (raw.inTransaction) raw.exec("rollback");
      throw translate(error);
    } finally {
      turn.unlock();
    }
  }

  const store: EngineConnection = {
    ...direct,
    transaction: async (work) => {
      await begin();
      return endTransaction(() => work(owned));
    },
    dialect: guardedDialect({
      acquire: () => turn.lock(),
      release: () => turn.unlock(),
      execute: (query) => withBusyRetry(async () => runNow(query)),
    }),
    ping: async () => {
      await direct.executeQuery(CompiledQuery.raw("select 1"));
    },
    connections: () => ({ open: 1, idle: turn.locked ? 0 : 1, waiting: turn.queued }),
    changeSignals: NO_SIGNALS,
    close: async () => {
      await turn.lock();
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
    beginTransaction: async (conn) => {
      await conn.executeQuery(CompiledQuery.raw("begin immediate"));
    },
    commitTransaction: async (conn) => {
      await conn.executeQuery(CompiledQuery.raw("commit"));
    },
    rollbackTransaction: async (conn) => {
      await conn.executeQuery(CompiledQuery.raw("rollback"));
    },
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
