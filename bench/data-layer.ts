/**
 * The data layer under the loads that used to hurt it:
 * - concurrent note inserts on PostgreSQL, with count maintenance (the triggers, and a fold every
 *   second as the service runs it) and with none at all (the count triggers disabled, no folds),
 *   in alternating rounds after a warm-up; the search index's trigger stays on in both, so that
 *   every note inserted is searchable and the two differ only in count maintenance;
 * - `GET /api/people` and a person's notes list with two authors of 100,000 notes each, on both engines.
 *
 *   npm run bench -- --data-layer      # this part alone (about two minutes)
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { buildApp } from "../src/app.js";
import { foldCountsPeriodically } from "../src/db/count-folding.js";
import { openStore, type Store } from "../src/db/database.js";
import { silentLog } from "../src/db/log.js";
import { foldNoteCounts } from "../src/db/notes-repository.js";
import { prepareDatabase } from "../src/db/setup.js";
import { POSTGRES_URL } from "./postgres.js";

const CONNECTIONS = 32;
const INSERTS_PER_CONNECTION = 100;
const ROUNDS = 6;
const HEAVY_NOTES = 100_000;
const READS = 30;
/** The triggers that keep the note counts (migrations 002 and 004); only these are switched off. */
const COUNT_TRIGGERS = ["note_counted_insert", "note_counted_delete"];

async function withSchema<T>(work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    return await work(schema);
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}

/** Inserts per second with CONNECTIONS clients each inserting INSERTS_PER_CONNECTION notes, one statement each. */
async function insertRate(schema: string): Promise<number> {
  const clients = Array.from(
    { length: CONNECTIONS },
    () => new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` }),
  );
  await Promise.all(clients.map((client) => client.connect()));
  try {
    const started = performance.now();
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < INSERTS_PER_CONNECTION; i++) {
          await client.query("insert into note (person_id, content, timestamp) values ($1, $2, $3)", [
            ((c + i) % 3) + 1,
            `concurrent ${c}-${i}`,
            new Date().toISOString(),
          ]);
        }
      }),
    );
    return (CONNECTIONS * INSERTS_PER_CONNECTION) / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function concurrentInserts(): Promise<void> {
  await withSchema(async (schema) => {
    const folder = openStore({ engine: "postgres", url: POSTGRES_URL, schema });
    await prepareDatabase(folder);
    const admin = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
    await admin.connect();
    const counted: number[] = [];
    const uncounted: number[] = [];
    const withCounts = async () => {
      await admin.query(COUNT_TRIGGERS.map((name) => `alter table note enable trigger ${name}`).join("; "));
      // As the service does: the notes counted live are folded into the counts every second.
      const folding = foldCountsPeriodically(folder, silentLog);
      try {
        return await insertRate(schema);
      } finally {
        folding.stop();
      }
    };
    const withoutCounts = async () => {
      await admin.query(COUNT_TRIGGERS.map((name) => `alter table note disable trigger ${name}`).join("; "));
      return await insertRate(schema);
    };
    try {
      // Connections, caches and the table's first pages warm up before anything is measured.
      await withoutCounts();
      await withCounts();
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          counted.push(await withCounts());
          uncounted.push(await withoutCounts());
        } else {
          uncounted.push(await withoutCounts());
          counted.push(await withCounts());
        }
      }
    } finally {
      await admin.end();
      await folder.close();
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    console.log(
      `PostgreSQL, ${CONNECTIONS} connections × ${INSERTS_PER_CONNECTION} note inserts: ` +
        `with counts ${counted.map((r) => r.toFixed(0)).join(", ")}/s, ` +
        `without ${uncounted.map((r) => r.toFixed(0)).join(", ")}/s, ` +
        `ratio of medians ${(median(counted) / median(uncounted)).toFixed(2)}`,
    );
  });
}

async function heavyAuthors(store: Store, engine: string): Promise<void> {
  await prepareDatabase(store);
  for (const personId of [1, 2]) {
    for (let start = 0; start < HEAVY_NOTES; start += 5000) {
      await store.db
        .insertInto("note")
        .values(
          Array.from({ length: 5000 }, (_, i) => ({
            person_id: personId,
            content: `heavy ${start + i}`,
            timestamp: new Date(Date.UTC(2020, 0, 1) + (start + i) * 1000).toISOString(),
          })),
        )
        .execute();
    }
  }
  await foldNoteCounts(store);
  const app = await buildApp({ store });
  try {
    for (const url of ["/api/people", "/api/people/1/notes", "/api/people/1"]) {
      const times: number[] = [];
      for (let i = 0; i < READS; i++) {
        const started = performance.now();
        const response = await app.inject({ url });
        times.push(performance.now() - started);
        if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
      }
      times.sort((a, b) => a - b);
      console.log(
        `${engine}, two authors of ${HEAVY_NOTES} notes: GET ${url} median ${times[Math.floor(READS / 2)]?.toFixed(2)} ms, ` +
          `max ${times[READS - 1]?.toFixed(2)} ms`,
      );
    }
  } finally {
    await app.close();
  }
}

export async function measureDataLayer(): Promise<void> {
  await concurrentInserts();
  const dir = mkdtempSync(join(tmpdir(), "people-notes-bench-"));
  try {
    const sqlite = openStore({ engine: "sqlite", path: join(dir, "heavy.db") });
    await heavyAuthors(sqlite, "SQLite").finally(() => sqlite.close());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await withSchema(async (schema) => {
    const store = openStore({ engine: "postgres", url: POSTGRES_URL, schema });
    await heavyAuthors(store, "PostgreSQL").finally(() => store.close());
  });
}
