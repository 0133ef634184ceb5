/** A throwaway PostgreSQL schema for one dataset: made, seeded through the data layer, dropped. */
import pg from "pg";
import type { DatasetName } from "./dataset.js";
import { type SeedReport, seedPostgres } from "./seed.js";

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function withClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The server's version, or undefined when no server answers. */
export async function postgresVersion(): Promise<string | undefined> {
  try {
    return await withClient(async (client) => {
      const { rows } = await client.query<{ server_version: string }>("show server_version");
      return rows[0]?.server_version;
    });
  } catch {
    return undefined;
  }
}

export interface PostgresDataset {
  /** DATABASE_URL for the service, pointing at the schema. */
  databaseUrl: string;
  seed: SeedReport;
  drop(): Promise<void>;
}

export async function createPostgresDataset(dataset: DatasetName): Promise<PostgresDataset> {
  const schema = `bench_${dataset}_${process.pid}`;
  await withClient((client) => client.query(`drop schema if exists ${schema} cascade; create schema ${schema}`));
  const drop = () => withClient((client) => client.query(`drop schema if exists ${schema} cascade`)).then(() => {});
  try {
    const seed = await seedPostgres({ engine: "postgres", url: POSTGRES_URL, schema }, dataset);
    // Fresh statistics, as a server that has been running a while would have.
    await withClient((client) => client.query(`analyze ${schema}.person, ${schema}.note`));
    const url = new URL(POSTGRES_URL);
    url.searchParams.set("schema", schema);
    return { databaseUrl: url.toString(), seed, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}
