/**
 * Creates the benchmark datasets through the service's own data layer (openStore, migrations, the
 * same name keys), with multi-row inserts in large transactions. SQLite datasets are cached in
 * bench/.data/ and reused while their row counts are right.
 *
 *   tsx bench/seed.ts 1m          # make (or reuse) bench/.data/1m.db
 *   tsx bench/seed.ts 1m --fresh  # make it again
 */

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { migrateToLatest, openStore, type Store } from "../src/db/database.js";
import { nameKey } from "../src/db/names.js";
import { countNotes, foldNoteCounts } from "../src/db/notes-repository.js";
import { countPeople } from "../src/db/people-repository.js";
import { seedTutorialData } from "../src/db/seed.js";
import type { DatabaseConfig } from "../src/db/settings.js";
import { DATASETS, type DatasetName, generateNotes, generatePeople, isDatasetName } from "./dataset.js";

export const DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), ".data");

/** Rows per INSERT: 4 values per note keeps each statement far below both engines' parameter limits. */
const BATCH_ROWS = 2_000;
/** Rows per transaction: few commits (each one is a sync to disk) without one enormous transaction. */
const TRANSACTION_ROWS = 100_000;

export interface SeedReport {
  dataset: DatasetName;
  people: number;
  notes: number;
  seconds: number;
}

export interface CachedDataset extends SeedReport {
  path: string;
  /** True when the file was already there and its seeding time comes from when it was made. */
  reused: boolean;
}

async function counts(store: Store): Promise<{ people: number; notes: number }> {
  return { people: await countPeople(store), notes: await countNotes(store) };
}

function expectedCounts(dataset: DatasetName): { people: number; notes: number } {
  if (dataset === "tutorial") return { people: 3, notes: 7 };
  const { people, notesPerPerson } = DATASETS[dataset];
  return { people, notes: people * notesPerPerson };
}

/** Fills an empty, migrated store with a dataset and says how long it took. */
export async function seedStore(store: Store, dataset: DatasetName): Promise<SeedReport> {
  const started = performance.now();
  await migrateToLatest(store);
  if (dataset === "tutorial") {
    await seedTutorialData(store);
  } else {
    const size = DATASETS[dataset];
    const people = generatePeople(size.people, nameKey);
    const personIds: number[] = [];
    await store.db.transaction().execute(async (tx) => {
      for (let start = 0; start < people.length; start += BATCH_ROWS) {
        const rows = people.slice(start, start + BATCH_ROWS).map((person) => ({
          ...person,
          fname_key: nameKey(person.fname),
          lname_key: nameKey(person.lname),
        }));
        const inserted = await tx.insertInto("person").values(rows).returning("person_id").execute();
        for (const row of inserted) personIds.push(row.person_id);
      }
    });

    const notes = generateNotes(size.people, size.notesPerPerson);
    let done = false;
    while (!done) {
      await store.db.transaction().execute(async (tx) => {
        for (let inTransaction = 0; inTransaction < TRANSACTION_ROWS; inTransaction += BATCH_ROWS) {
          const batch = [];
          for (let i = 0; i < BATCH_ROWS; i++) {
            const note = notes.next();
            if (note.done) {
              done = true;
              break;
            }
            const { author, content, timestamp } = note.value;
            batch.push({ person_id: personIds[author] as number, content, timestamp });
          }
          if (batch.length > 0) await tx.insertInto("note").values(batch).execute();
          if (done) return;
        }
      });
    }
  }
  const found = await counts(store);
  const expected = expectedCounts(dataset);
  if (found.people !== expected.people || found.notes !== expected.notes) {
    throw new Error(`seeding ${dataset} left ${found.people} people and ${found.notes} notes`);
  }
  return { dataset, ...found, seconds: (performance.now() - started) / 1000 };
}

export const datasetPath = (dataset: DatasetName) => join(DATA_DIR, `${dataset}.db`);
const reportPath = (dataset: DatasetName) => join(DATA_DIR, `${dataset}.seed.json`);

function removeDatabase(path: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
}

async function isComplete(path: string, dataset: DatasetName): Promise<boolean> {
  if (!existsSync(path) || !existsSync(reportPath(dataset))) return false;
  const store = openStore({ engine: "sqlite", path });
  try {
    const found = await counts(store);
    const expected = expectedCounts(dataset);
    return found.people === expected.people && found.notes === expected.notes;
  } catch {
    return false;
  } finally {
    await store.close();
  }
}

/** The dataset's SQLite file, made now or reused from an earlier run. */
export async function ensureSqliteDataset(dataset: DatasetName, fresh = false): Promise<CachedDataset> {
  mkdirSync(DATA_DIR, { recursive: true });
  const path = datasetPath(dataset);
  if (!fresh && (await isComplete(path, dataset))) {
    const report = JSON.parse(readFileSync(reportPath(dataset), "utf8")) as SeedReport;
    return { ...report, path, reused: true };
  }
  removeDatabase(path);
  const store = openStore({ engine: "sqlite", path });
  let report: SeedReport;
  try {
    report = await seedStore(store, dataset);
  } finally {
    // Closing checkpoints the WAL into the file, so the file alone is the whole dataset.
    await store.close();
  }
  writeFileSync(reportPath(dataset), `${JSON.stringify(report, null, 2)}\n`);
  return { ...report, path, reused: false };
}

/** Seeds a PostgreSQL schema (made empty first) and says how long it took. */
export async function seedPostgres(config: DatabaseConfig, dataset: DatasetName): Promise<SeedReport> {
  // Folding the counts of a million notes is one statement; on a busy machine it outlasted the
  // service's default 5 s statement timeout, and the seed failed.
  const store = openStore({ ...config, limits: { statementTimeoutMs: 10 * 60_000, ...config.limits } });
  try {
    const report = await seedStore(store, dataset);
    // As a running service would within a second: the seeded notes are counted in full, not live.
    await foldNoteCounts(store);
    return report;
  } finally {
    await store.close();
  }
}

async function main(args: string[]): Promise<void> {
  const fresh = args.includes("--fresh");
  const names = args.filter((arg) => !arg.startsWith("--"));
  if (names.length === 0 || !names.every(isDatasetName)) {
    console.error("usage: tsx bench/seed.ts <tutorial|1k|1m>... [--fresh]");
    process.exitCode = 2;
    return;
  }
  for (const name of names) {
    const result = await ensureSqliteDataset(name, fresh);
    const how = result.reused ? "reused; seeded earlier in" : "seeded in";
    console.log(`${name}: ${result.people} people, ${result.notes} notes, ${how} ${result.seconds.toFixed(1)} s`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main(process.argv.slice(2));
