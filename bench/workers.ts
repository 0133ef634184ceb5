/**
 * Throughput of the service with 1, 2 and 4 workers (`WORKERS=N`): a person read and note
 * creation, on the 1k dataset, on PostgreSQL and then on SQLite, rounds interleaved across the
 * three services so that drift on the machine falls on all of them alike.
 *
 *   npm run bench -- --workers      # this part alone (about seven minutes)
 */
import { readFileSync } from "node:fs";
import { median } from "./compare.js";
import { workingCopy } from "./endpoints.js";
import { type LoadResult, type LoadTool, load, type Target } from "./load.js";
import { createPostgresDataset } from "./postgres.js";
import { ensureSqliteDataset } from "./seed.js";
import { type RunningServer, serviceSpec, startServer, stopServer } from "./servers.js";

const WORKER_COUNTS = [1, 2, 4] as const;
const FIRST_PORT = 5230;
const ROUNDS = 5;
const SECONDS = 5;
const WARMUP_SECONDS = 3;
/** Reads with 2 workers against 1, on these 2-core machines. */
export const READ_SCALING_TARGET = 1.5;

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

export interface WorkersFigure {
  engine: Database["engine"];
  workers: number;
  endpoint: string;
  kind: "read" | "write";
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** How busy the whole machine's CPUs were during the rounds, 0 to 1. */
  machineBusy: number;
  errors: number;
}

/** Busy and total jiffies of every CPU together, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

async function measured(tool: LoadTool, server: RunningServer, target: Target) {
  const before = machineJiffies();
  const result = await load(tool, server.url, target, SECONDS);
  const after = machineJiffies();
  return { ...result, machineBusy: (after.busy - before.busy) / (after.total - before.total) };
}

/** The first answer comes from whichever worker listens first; the others are a moment behind. */
const WORKERS_SETTLE_MS = 2_000;

interface Database {
  engine: "PostgreSQL" | "SQLite";
  url: string;
  people: number;
}

export async function measureWorkers(tool: LoadTool): Promise<WorkersFigure[]> {
  log("workers: seeding PostgreSQL with the 1k dataset");
  const postgres = await createPostgresDataset("1k");
  const figures: WorkersFigure[] = [];
  try {
    figures.push(
      ...(await measureOn(tool, { engine: "PostgreSQL", url: postgres.databaseUrl, people: postgres.seed.people })),
    );
  } finally {
    await postgres.drop();
  }
  // The same on SQLite, whose work happens inside the workers: what workers give when the database
  // does not take its share of the same two cores.
  const sqlite = await ensureSqliteDataset("1k");
  const path = workingCopy(sqlite.path, "workers");
  figures.push(...(await measureOn(tool, { engine: "SQLite", url: `sqlite:${path}`, people: sqlite.people })));

  const reads = (workers: number) =>
    figures.find((f) => f.engine === "PostgreSQL" && f.workers === workers && f.kind === "read")?.rps ?? 0;
  const scaling = reads(2) / reads(1);
  log(
    `PostgreSQL reads with 2 workers: ${scaling.toFixed(2)} × 1 worker (target ≥ ${READ_SCALING_TARGET}: ` +
      `${scaling >= READ_SCALING_TARGET ? "met" : "NOT met"})`,
  );
  console.log(`\n${workersMarkdown(figures)}\n`);
  return figures;
}

async function measureOn(tool: LoadTool, database: Database): Promise<WorkersFigure[]> {
  const servers: { workers: number; server: RunningServer }[] = [];
  try {
    for (const [i, workers] of WORKER_COUNTS.entries()) {
      const spec = serviceSpec(FIRST_PORT + i, database.url);
      const server = await startServer({
        ...spec,
        name: `${workers} workers`,
        env: { ...spec.env, WORKERS: `${workers}` },
      });
      servers.push({ workers, server });
      await new Promise((resolve) => setTimeout(resolve, WORKERS_SETTLE_MS));
    }
    const personId = Math.ceil(database.people / 2);
    const endpoints: { name: string; kind: "read" | "write"; target: Target }[] = [
      {
        name: "GET /api/people/{id}",
        kind: "read",
        target: { method: "GET", path: "/api/people/{id}", spread: database.people },
      },
      { name: "POST /api/people/{id}/notes", kind: "write", target: { method: "POST", path: "", ids: [personId] } },
    ];
    const figures: WorkersFigure[] = [];
    for (const endpoint of endpoints) {
      for (const { server } of servers) await load(tool, server.url, endpoint.target, WARMUP_SECONDS);
      const rounds = new Map<number, (LoadResult & { machineBusy: number })[]>();
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const { workers, server } of order) {
          const result = await measured(tool, server, endpoint.target);
          rounds.set(workers, [...(rounds.get(workers) ?? []), result]);
        }
      }
      for (const { workers } of servers) {
        const results = rounds.get(workers) ?? [];
        const figure: WorkersFigure = {
          engine: database.engine,
          workers,
          endpoint: endpoint.name,
          kind: endpoint.kind,
          rps: median(results.map((r) => r.rps)),
          p50Ms: median(results.map((r) => r.p50Ms)),
          p99Ms: median(results.map((r) => r.p99Ms)),
          machineBusy: median(results.map((r) => r.machineBusy)),
          errors: results.reduce((sum, r) => sum + r.errors, 0),
        };
        figures.push(figure);
        log(
          `  ${database.engine} ${endpoint.name.padEnd(30)} ${workers} workers: ${Math.round(figure.rps)} req/s ` +
            `(rounds ${results.map((r) => Math.round(r.rps)).join(" ")}), p99 ${figure.p99Ms.toFixed(1)} ms, ` +
            `machine ${(figure.machineBusy * 100).toFixed(0)} % busy` +
            (figure.errors > 0 ? `, ${figure.errors} ERRORS` : ""),
        );
      }
    }
    return figures;
  } finally {
    for (const { server } of servers) await stopServer(server);
  }
}

export function workersMarkdown(figures: WorkersFigure[]): string {
  const one = (f: WorkersFigure) =>
    figures.find((g) => g.engine === f.engine && g.endpoint === f.endpoint && g.workers === 1)?.rps ?? Number.NaN;
  return [
    "| database | endpoint | workers | req/s | × 1 worker | p50 | p99 | machine CPU busy |",
    "|---|---|---|---|---|---|---|---|",
    ...figures.map(
      (f) =>
        `| ${f.engine} | ${f.endpoint} | ${f.workers} | ${Math.round(f.rps).toLocaleString("en-US")} | ` +
        `${(f.rps / one(f)).toFixed(2)} | ${f.p50Ms.toFixed(1)} ms | ${f.p99Ms.toFixed(1)} ms | ` +
        `${(f.machineBusy * 100).toFixed(0)} % |`,
    ),
  ].join("\n");
}
