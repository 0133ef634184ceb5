import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type CompiledQuery, type QueryResult, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";
import type { QueryRunner } from "./prepared.js";

const STATEMENT_CACHE_SIZE = 200;

/** Kysely's view of a statement, plus better-sqlite3's get(): the first row only. */
interface Statement extends SqliteStatement {
  get(parameters: ReadonlyArray<unknown>): unknown;
}

interface StatementCache extends SqliteDatabase {
  prepare(sql: string): Statement;
}

export interface SqliteHandle {
  dialect: SqliteDialect;
  /** Runs compiled queries straight on the connection (see directRunner). */
  runner: QueryRunner;
}

/**
 * Opens the file with the durability and concurrency settings the service relies on:
 * WAL (readers never block the writer), synchronous=FULL (a commit is on disk before its 2xx),
 * foreign keys (cascading deletes) and a busy timeout for other processes holding the write lock.
 */
export function openSqlite(path: string): SqliteHandle {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const raw = new BetterSqlite3(path, { timeout: 10_000 });
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  const database = withStatementCache(raw);
  return { dialect: new SqliteDialect({ database }), runner: directRunner(database) };
}

/**
 * better-sqlite3 is synchronous, so a compiled query can run on the connection directly, without
 * Kysely's connection mutex and its chain of promises, which cost more than a small query itself.
 * It gives the same results as Kysely's SQLite driver. The requests' queries are single statements;
 * nothing runs them inside a transaction.
 */
function directRunner(database: StatementCache): QueryRunner {
  return {
    async executeQuery<R>({ sql, parameters }: CompiledQuery<R>): Promise<QueryResult<R>> {
      const statement = database.prepare(sql);
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
    },
    async executeQueryFirst<R>({ sql, parameters }: CompiledQuery<R>): Promise<R | undefined> {
      return database.prepare(sql).get(parameters) as R | undefined;
    },
  };
}

/** better-sqlite3 parses SQL on every prepare(); the service runs a small set of query shapes, so keep them. */
function withStatementCache(raw: BetterSqlite3.Database): StatementCache {
  const cache = new Map<string, Statement>();
  return {
    close: () => raw.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = raw.prepare(sql) as unknown as Statement;
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value as string;
          cache.delete(oldest);
        }
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}
