import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Engine } from "../../src/db/schema.js";

/** The server every PostgreSQL test uses; each test database is a schema of its own on it. */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Runs `work` with a client of the test server, for creating and dropping schemas. */
export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  schema: string;
  /** POSTGRES_URL naming the schema, as a DATABASE_URL. */
  url: string;
  drop(): Promise<void>;
}

/** A new, empty PostgreSQL schema `<prefix>_<random>` on the test server. */
export async function createSchema(prefix = "t"): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(8).toString("hex")}`;
  await withAdmin((client) => client.query(`create schema ${schema}`));
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("schema", schema);
  return {
    schema,
    url: url.toString(),
    drop: () =>
      withAdmin(async (client) => {
        // A server under test may still hold locks for a moment after it was killed.
        await client.query("set lock_timeout = '10s'");
        await client.query(`drop schema ${schema} cascade`);
      }),
  };
}

/**
 * Both engines, always. PostgreSQL is part of every run (CI and on these machines): when it cannot
 * be reached the tests that use it fail, they are never skipped.
 */
export function engines(): Engine[] {
  return ["sqlite", "postgres"];
}
