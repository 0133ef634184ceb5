import type { Tracer } from "@opentelemetry/api";
import { Kysely, Migrator, sql } from "kysely";
import type { ChangeSignals } from "./changes/signals.js";
import type { ConnectionUse, UnitOfWork } from "./executor.js";
import { type StoreLog, silentLog } from "./log.js";
import { migrations } from "./migrations/index.js";
import { openPostgres } from "./postgres.js";
import type { Database, Engine } from "./schema.js";
import { type DatabaseConfig, DEFAULT_DATABASE_LIMITS } from "./settings.js";
import { openSqlite } from "./sqlite.js";
import { traceQueries } from "./tracing.js";

/**
 * The database, open. As a unit of work it runs the repositories' statements (each on its own, or
 * several in one transaction); `db` is Kysely for migrations, seeding and the CLI, and takes the same
 * turns on the connection as everything else.
 */
export interface Store extends UnitOfWork {
  db: Kysely<Database>;
  /** A cheap round trip, for readiness. */
  ping(): Promise<void>;
  connections(): ConnectionUse;
  changeSignals: ChangeSignals;
  close(): Promise<void>;
}

/** With a `tracer`, each statement and transaction of a request is a span (`src/db/tracing.ts`). */
export function openStore(config: DatabaseConfig, log: StoreLog = silentLog, tracer?: Tracer): Store {
  const limits = { ...DEFAULT_DATABASE_LIMITS, ...config.limits };
  const engine =
    config.engine === "sqlite"
      ? openSqlite({ path: config.path, lockTimeoutMs: limits.lockTimeoutMs, log })
      : openPostgres({ url: config.url, ...(config.schema ? { schema: config.schema } : {}), ...limits, log });
  const opened = tracer ? traceQueries(engine, tracer) : engine;
  const db = new Kysely<Database>({ dialect: opened.dialect });
  return {
    engine: opened.engine,
    executeQuery: opened.executeQuery,
    executeQueryFirst: opened.executeQueryFirst,
    transaction: opened.transaction,
    ping: opened.ping,
    connections: opened.connections,
    changeSignals: opened.changeSignals,
    db,
    // Closing the store closes the connections Kysely uses too.
    close: opened.close,
  };
}

/**
 * On PostgreSQL, Kysely looks for its migration table in every schema unless told which one, so
 * another schema on the same server that has one (another copy of the service, a parallel test
 * run) would make it skip creating its own. Name the schema the tables go to.
 */
export async function migrator(store: Store): Promise<Migrator> {
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
  if (store.engine === "sqlite") {
    await sql`drop view if exists note_search_source`.execute(db);
    await db.schema.dropTable("note_search_vocab").ifExists().execute();
    await db.schema.dropTable("note_search").ifExists().execute();
  }
  for (const table of [
    "webhook_delivery",
    "webhook",
    "change",
    "feed_horizon",
    "passkey_challenge",
    "passkey",
    "invite",
    "account_session",
    "account",
    "token",
    "trash_entry",
    "note_revision",
    "note",
    "person",
    "counter",
    "table_count",
    "person_note_count",
    "count_watermark",
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await db.schema.dropTable("kysely_migration").ifExists().execute();
  await db.schema.dropTable("kysely_migration_lock").ifExists().execute();
  if (store.engine === "postgres") {
    await sql`drop function if exists count_inserted(), count_deleted(), count_people(), count_notes(),
              count_note_written(), fold_note_counts(), note_total(), note_total_of(bigint), note_watermark()`.execute(
      db,
    );
    await sql`drop sequence if exists note_watermark_hint`.execute(db);
    await sql`drop function if exists note_search_vector(), person_search_rename(), note_search_fold(text)`.execute(db);
    await sql`drop text search configuration if exists note_search`.execute(db);
    await sql`drop text search dictionary if exists note_search_stem`.execute(db);
  }
}

export type { Engine };
