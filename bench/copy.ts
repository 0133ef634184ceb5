/**
 * `people-notes db copy` at scale: the 1m dataset (100,000 people, 1,000,000 notes) from SQLite to
 * PostgreSQL, then back into a new SQLite file, through the same function the command runs, with its
 * verification. Reports the whole time, the copying and verifying parts, and rows per second.
 *
 *   npm run bench -- --copy      # about two minutes, plus seeding the 1m file if it is not cached
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { openStore } from "../src/db/database.js";
import type { DatabaseConfig } from "../src/db/settings.js";
import { type CopyPhase, copyDatabase } from "../src/db/transfer/copy.js";
import { type Counts, countsIn, totalOf } from "../src/db/transfer/tables.js";
import { POSTGRES_URL } from "./postgres.js";
import { ensureSqliteDataset } from "./seed.js";

export interface CopyMeasurement extends Counts {
  direction: string;
  seconds: number;
  /** Seconds per phase, from the end of the one before (the first from the start, migrating the target included). */
  phases: Partial<Record<CopyPhase, number>>;
  rowsPerSecond: number;
  checksum: string;
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function measure(direction: string, from: DatabaseConfig, to: DatabaseConfig): Promise<CopyMeasurement> {
  const [source, target] = [openStore(from), openStore(to)];
  try {
    const phaseEnds = new Map<CopyPhase, number>();
    const started = performance.now();
    const report = await copyDatabase(source, target, {
      onProgress: ({ phase }) => {
        phaseEnds.set(phase, performance.now());
      },
    });
    const ended = performance.now();
    const phases: CopyMeasurement["phases"] = {};
    let previous = started;
    for (const [phase, end] of phaseEnds) {
      phases[phase] = (end - previous) / 1000;
      previous = end;
    }
    const seconds = (ended - started) / 1000;
    const rows = totalOf(report.source);
    return {
      direction,
      ...countsIn(report.source),
      seconds,
      phases,
      rowsPerSecond: rows / seconds,
      checksum: report.target.checksum,
    };
  } finally {
    await source.close();
    await target.close();
  }
}

export async function measureCopy(): Promise<CopyMeasurement[]> {
  const dataset = await ensureSqliteDataset("1m");
  log(`1m: ${dataset.people} people, ${dataset.notes} notes in ${dataset.path}`);
  const schema = `bench_copy_${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "people-notes-bench-copy-"));
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    const sqlite: DatabaseConfig = { engine: "sqlite", path: dataset.path };
    const postgres: DatabaseConfig = { engine: "postgres", url: POSTGRES_URL, schema };
    const back: DatabaseConfig = { engine: "sqlite", path: join(dir, "back.db") };
    const results: CopyMeasurement[] = [];
    for (const [direction, from, to] of [
      ["SQLite → PostgreSQL", sqlite, postgres],
      ["PostgreSQL → SQLite", postgres, back],
    ] as const) {
      log(`copying ${direction}`);
      const result = await measure(direction, from, to);
      log(`${direction}: ${result.seconds.toFixed(1)} s, ${Math.round(result.rowsPerSecond)} rows/s`);
      results.push(result);
    }
    if (results[0]?.checksum !== results[1]?.checksum) throw new Error("the two copies' checksums differ");
    console.log(`\n${copyMarkdown(results)}\n`);
    return results;
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function copyMarkdown(results: CopyMeasurement[]): string {
  const phase = (result: CopyMeasurement, name: CopyPhase) => {
    const seconds = result.phases[name];
    return seconds === undefined ? "—" : `${seconds.toFixed(1)} s`;
  };
  return [
    "| copy | people | notes | total | copying people | copying notes | verifying | rows/s |",
    "|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.direction} | ${r.people} | ${r.notes} | ${r.seconds.toFixed(1)} s | ${phase(r, "people")} | ` +
        `${phase(r, "notes")} | ${phase(r, "verifying")} | ${Math.round(r.rowsPerSecond).toLocaleString("en-US")} |`,
    ),
  ].join("\n");
}
