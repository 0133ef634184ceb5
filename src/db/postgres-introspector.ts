import {
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  type Dialect,
  type Kysely,
  type MigrationLockOptions,
  PostgresAdapter,
  PostgresIntrospector,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from "kysely";

/**
 * The dialect, with an introspector that sees only the store's own schema (`current_schema()`), and
 * a migration lock of that schema's own (OwnSchemaMigrationLock).
 *
 * Kysely's PostgreSQL introspector lists the tables of every schema on the server and calls
 * `has_schema_privilege(name)` and `pg_get_serial_sequence(name)` on each row. Those look names up in
 * the catalog as it is now, not as the query's snapshot saw it, so a schema that another session drops
 * while the query runs fails the whole query ("schema … does not exist"). Kysely's migrator asks that
 * introspector whether its own tables exist before every run, so a migration would fail whenever
 * another copy of the service, or a test, dropped its schema at the same moment.
 */
export function ownSchemaIntrospection(dialect: Dialect): Dialect {
  return {
    createAdapter: () => new OwnSchemaMigrationLock(),
    createDriver: () => dialect.createDriver(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    // biome-ignore lint/suspicious/noExplicitAny: the introspector reads the catalog, which is in no schema type.
    createIntrospector: (db: Kysely<any>) => new OwnSchemaIntrospector(db),
  };
}

/** The first half of the migration lock's key; the second is the schema's hash. */
const MIGRATION_LOCK_SPACE = 0x706e6d; // "pnm"

/**
 * Kysely's PostgreSQL adapter, with the migration lock taken per schema.
 *
 * Kysely takes one advisory lock (a fixed key) for every migration on the server, so migrations of
 * unrelated schemas wait for one another: a second copy of the service, or a test on a schema of its
 * own, would wait out another's migrations and could fail on its statement timeout while it did.
 * Processes migrating the same schema still take turns.
 */
class OwnSchemaMigrationLock extends PostgresAdapter {
  // biome-ignore lint/suspicious/noExplicitAny: the lock is taken with a plain query, in no schema type.
  override async acquireMigrationLock(db: Kysely<any>, _options: MigrationLockOptions): Promise<void> {
    // As Kysely does: the wait for the lock is not cut short by the session's lock_timeout.
    await sql`
      with set_timeout as (select set_config('lock_timeout', '3600000', true) as config_val)
      select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_SPACE)}, hashtext(current_schema()))
      from set_timeout`.execute(db);
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  override async releaseMigrationLock(db: Kysely<any>, _options: MigrationLockOptions): Promise<void> {
    await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_SPACE)}, hashtext(current_schema()))`.execute(db);
  }
}

interface ColumnRow {
  table: string;
  table_type: string;
  schema: string;
  column: string;
  not_null: boolean;
  has_default: boolean;
  type: string;
  type_schema: string;
  column_description: string | null;
  auto_incrementing: string | null;
}

/** What Kysely's PostgresIntrospector answers, the same query restricted to one schema. */
class OwnSchemaIntrospector implements DatabaseIntrospector {
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(private readonly db: Kysely<any>) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    // One plain catalog read, with no lookups by name: dropping a schema meanwhile cannot fail it.
    return new PostgresIntrospector(this.db).getSchemas();
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const internal = options.withInternalKyselyTables
      ? sql``
      : sql`and c.relname not in (${DEFAULT_MIGRATION_TABLE}, ${DEFAULT_MIGRATION_LOCK_TABLE})`;
    const { rows } = await sql<ColumnRow>`
      select a.attname as column, a.attnotnull as not_null, a.atthasdef as has_default,
             c.relname as table, c.relkind as table_type, ns.nspname as schema,
             typ.typname as type, dtns.nspname as type_schema,
             col_description(a.attrelid, a.attnum) as column_description,
             pg_get_serial_sequence(quote_ident(ns.nspname) || '.' || quote_ident(c.relname), a.attname)
               as auto_incrementing
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on a.attrelid = c.oid
      join pg_catalog.pg_namespace ns on c.relnamespace = ns.oid
      join pg_catalog.pg_type typ on a.atttypid = typ.oid
      join pg_catalog.pg_namespace dtns on typ.typnamespace = dtns.oid
      where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')
        and a.attnum >= 0 and not a.attisdropped ${internal}
      order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata>();
    for (const row of rows) {
      let table = tables.get(row.table);
      if (!table) {
        table = { name: row.table, isView: row.table_type === "v", schema: row.schema, columns: [] };
        tables.set(row.table, table);
      }
      table.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.type_schema,
        isAutoIncrementing: row.auto_incrementing !== null,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default,
        comment: row.column_description ?? undefined,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
