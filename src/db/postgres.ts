import { PostgresDialect } from "kysely";
import pg from "pg";

const TIMESTAMPTZ_OID = 1184;
const INT8_OID = 20;

// Timestamps leave the database as the same ISO strings on both engines; counters fit in a double.
pg.types.setTypeParser(TIMESTAMPTZ_OID, (value) => new Date(value).toISOString());
pg.types.setTypeParser(INT8_OID, (value) => Number(value));

export interface PostgresHandle {
  dialect: PostgresDialect;
  pool: pg.Pool;
}

export function openPostgres(url: string, schema?: string): PostgresHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // A schema other than public keeps parallel test runs apart on one server.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that loses its server must not crash the process; the next query reports the error.
  pool.on("error", () => {});
  return { pool, dialect: new PostgresDialect({ pool }) };
}
