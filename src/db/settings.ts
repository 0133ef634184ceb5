/**
 * What the data layer is configured with, and its defaults: kept apart from the code that opens a
 * database so that reading the configuration loads no driver, Kysely or migrations.
 */

/** How long the data layer waits, and how many connections it holds; every wait has a deadline. */
export interface DatabaseLimits {
  /** Connecting to PostgreSQL, and waiting for a free connection in the pool. */
  connectTimeoutMs: number;
  /** One statement on PostgreSQL. */
  statementTimeoutMs: number;
  /** Waiting for a lock held by someone else: a row lock on PostgreSQL, the write lock on SQLite. */
  lockTimeoutMs: number;
  /** PostgreSQL connections per process. */
  poolSize: number;
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = {
  connectTimeoutMs: 2000,
  statementTimeoutMs: 5000,
  lockTimeoutMs: 5000,
  poolSize: 10,
};

export type DatabaseConfig = (
  | { engine: "sqlite"; path: string }
  | { engine: "postgres"; url: string; schema?: string }
) & {
  limits?: Partial<DatabaseLimits>;
};
