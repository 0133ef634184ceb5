import { Kysely, Migrator, sql } from "kysely";
import type { DatabaseConfig } from "../config.js";
import { migrations } from "./migrations/index.js";
import { openPostgres } from "./postgres.js";
import type { QueryRunner } from "./prepared.js";
import type { Database, Engine } from "./schema.js";
import { openSqlite } from "./sqlite.js";

export interface Store {
  db: Kysely<Database>;
  /** Runs the repositories' compiled queries: the fastest path each engine has. */
  runner: QueryRunner;
  engine: Engine;
  close(): Promise<void>;
}

export function openStore(config: DatabaseConfig): Store {
  if (config.engine === "sqlite") {
    const { dialect, runner } = openSqlite(config.path);
    const db = new Kysely<Database>({ dialect });
    return { db, runner, engine: "sqlite", close: () => db.destroy() };
  }
  const { dialect } = openPostgres(config.url, config.schema);
  const db = new Kysely<Database>({ dialect });
  return { db, runner: db, engine: "postgres", close: () => db.destroy() };
}

/**
 * On PostgreSQL, Kysely looks for its migration table in every schema unless told which one, so
 * another schema on the same server that has one (another copy of the service, a parallel test
 * run) would make it skip creating its own. Name the schema the tables go to.
 */
async function migrator(store: Store): Promise<Migrator> {
  let migrationTableSchema: string | undefined;
  if (store.engine === "postgres") {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
    migrationTableSchema = rows[0]?.schema;
  }
  return new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations(store.engine) },
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

export interface MigrationReport {
  /** True when the database had no migrations applied before: it was just created. */
  wasEmpty: boolean;
  applied: string[];
}

/** Applies every pending migration; a second run is a no-op. */
export async function migrateToLatest(store: Store): Promise<MigrationReport> {
  const m = await migrator(store);
  const before = await m.getMigrations();
  const wasEmpty = before.every((migration) => migration.executedAt === undefined);
  const { error, results = [] } = await m.migrateToLatest();
  if (error) throw error;
  return { wasEmpty, applied: results.filter((r) => r.status === "Success").map((r) => r.migrationName) };
}

/** Drops every table the migrations made, so `db build` can start again from nothing. */
export async function dropAll(store: Store): Promise<void> {
  const { db } = store;
  await db.schema.dropTable("note").ifExists().execute();
  await db.schema.dropTable("person").ifExists().execute();
  await db.schema.dropTable("counter").ifExists().execute();
  await db.schema.dropTable("kysely_migration").ifExists().execute();
  await db.schema.dropTable("kysely_migration_lock").ifExists().execute();
  if (store.engine === "postgres") {
    await sql`drop function if exists count_inserted(), count_deleted()`.execute(db);
  }
}

/** Cheap round trip for readiness checks. */
export async function ping(store: Store): Promise<void> {
  await sql`select 1`.execute(store.db);
}
