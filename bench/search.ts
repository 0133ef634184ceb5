/**
 * Search at scale: `GET /api/notes?q=…` and `GET /api/people?q=…` on the 1m dataset (100,000
 * people, 1,000,000 notes of words from a list of 200 common English words, so that every word is
 * in about a tenth of the notes), answered in-process by the service (routing, validation, the
 * queries and serialization; no sockets), one request at a time. Reports p50 and p99 per query.
 *
 *   npm run bench -- --search                    # SQLite, then PostgreSQL when reachable
 *   npm run bench -- --search --no-postgres --datasets 1k
 *
 * Seeding 1m notes into PostgreSQL takes about ten minutes here; BENCH_SEARCH_POSTGRES_SCHEMA=name
 * measures a schema seeded before (and leaves it) instead. BENCH_SEARCH_SQLITE=0 measures
 * PostgreSQL only.
 */
import { performance } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { openStore, type Store } from "../src/db/database.js";
import { prepareDatabase } from "../src/db/setup.js";
import type { DatasetName } from "./dataset.js";
import { createPostgresDataset, POSTGRES_URL, postgresVersion } from "./postgres.js";
import { ensureSqliteDataset } from "./seed.js";

/** A first page of a common word within this on SQLite is the target. */
const TARGET_MS = 50;
const WARMUP = 5;
/** Requests per query: fewer on PostgreSQL, where a search of a common word takes a good part of a second. */
const SAMPLES = { SQLite: 200, PostgreSQL: 30 };

interface Case {
  name: string;
  url: string;
  /** Follow the first page's next link and measure the second page instead. */
  secondPage?: boolean;
}

const CASES: Case[] = [
  { name: "latest notes, no search (for comparison)", url: "/api/notes?limit=20" },
  { name: "common word, page of 20", url: "/api/notes?q=water&limit=20" },
  { name: "common word, page of 100 (the default)", url: "/api/notes?q=water" },
  { name: "common word, second page of 20", url: "/api/notes?q=water&limit=20", secondPage: true },
  { name: "two common words", url: "/api/notes?q=water%20house&limit=20" },
  { name: "three words, few matches", url: "/api/notes?q=water%20animals%20children&limit=20" },
  { name: "typing: 1 letter", url: "/api/notes?q=w&limit=20" },
  { name: "typing: 2-letter prefix", url: "/api/notes?q=wa&limit=20" },
  { name: "typing: 3-letter prefix", url: "/api/notes?q=wat&limit=20" },
  { name: "typing: 4 letters", url: "/api/notes?q=wate&limit=20" },
  { name: "typing: past the stem (importa, stemmed import)", url: "/api/notes?q=importa&limit=20" },
  { name: "typing: a word and a prefix", url: "/api/notes?q=water%20ho&limit=20" },
  { name: "an author's name", url: "/api/notes?q=childeckmen&limit=20" },
  { name: "no match", url: "/api/notes?q=zebra&limit=20" },
  { name: "people by name prefix", url: "/api/people?q=br&limit=20" },
];

interface Measured {
  name: string;
  matches: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

async function measureCase(app: FastifyInstance, item: Case, samples: number): Promise<Measured> {
  let url = item.url;
  const first = await app.inject({ url });
  if (first.statusCode !== 200) throw new Error(`${url}: ${first.statusCode} ${first.body}`);
  if (item.secondPage) {
    const link = /^<([^>]+)>/.exec(String(first.headers.link ?? ""))?.[1];
    if (!link) throw new Error(`${url}: no next page`);
    url = link;
  }
  const times: number[] = [];
  for (let i = 0; i < WARMUP + samples; i++) {
    const started = performance.now();
    const response = await app.inject({ url });
    const elapsed = performance.now() - started;
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
    if (i >= WARMUP) times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  return {
    name: item.name,
    matches: Number(first.headers["x-total-count"]),
    p50: percentile(times, 50),
    p99: percentile(times, 99),
  };
}

async function measureStore(engine: keyof typeof SAMPLES, store: Store): Promise<Measured[]> {
  await prepareDatabase(store);
  const app = await buildApp({ store });
  try {
    const results: Measured[] = [];
    for (const item of CASES) results.push(await measureCase(app, item, SAMPLES[engine]));
    console.log(`\n${engine}: ${SAMPLES[engine]} requests each, one at a time, after ${WARMUP} to warm up\n`);
    console.log("| query | matches | p50 ms | p99 ms |");
    console.log("|---|---:|---:|---:|");
    for (const r of results) {
      console.log(`| ${r.name} | ${r.matches.toLocaleString("en-US")} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
    }
    return results;
  } finally {
    await app.close();
  }
}

export async function measureSearch(postgres: boolean, dataset: DatasetName = "1m"): Promise<void> {
  const cached = await ensureSqliteDataset(dataset);
  console.log(`${dataset}: ${cached.people} people, ${cached.notes} notes (${cached.path})`);
  let common: Measured | undefined;
  // BENCH_SEARCH_SQLITE=0: PostgreSQL only.
  if (process.env.BENCH_SEARCH_SQLITE !== "0") {
    const sqlite = openStore({ engine: "sqlite", path: cached.path });
    try {
      const results = await measureStore("SQLite", sqlite);
      common = results.find((r) => r.name.startsWith("common word, page of 20"));
    } finally {
      await sqlite.close();
    }
  }
  if (common) {
    const verdict = common.p50 < TARGET_MS && common.p99 < TARGET_MS ? "within" : "NOT within";
    console.log(
      `\nSQLite, first page of a common word: p50 ${common.p50.toFixed(1)} ms, p99 ${common.p99.toFixed(1)} ms, ${verdict} ${TARGET_MS} ms`,
    );
  }
  if (!postgres) return;
  if (!(await postgresVersion())) {
    console.log("PostgreSQL is not reachable: SQLite only");
    return;
  }
  const seeded = process.env.BENCH_SEARCH_POSTGRES_SCHEMA;
  const started = performance.now();
  const pg = seeded ? undefined : await createPostgresDataset(dataset);
  if (pg) console.log(`\nPostgreSQL ${dataset} seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const schema = seeded ?? new URL(pg?.databaseUrl ?? POSTGRES_URL).searchParams.get("schema") ?? "";
  const store = openStore({ engine: "postgres", url: POSTGRES_URL, schema });
  try {
    await measureStore("PostgreSQL", store);
  } finally {
    await store.close();
    await pg?.drop();
  }
}
