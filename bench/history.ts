/**
 * `npm run bench -- --history`: what keeping note history costs a PUT. The service of this
 * checkout (every PUT keeps a version) runs beside the same service built from a checkout without
 * history (BENCH_BASE_ROOT, built with `npm run build`), each on a fresh database of its own with
 * the tutorial's data, and both take the same PUTs to one note in interleaved rounds. The ratio of
 * req/s and the server CPU per request say what history adds; CPU per request moves far less than
 * req/s when other work shares the machine. Each round loads both servers at the same time, so
 * whatever else the machine does in that round, both sides meet it alike (taking turns, as the
 * baseline comparison does, a round's ratio moved from 0.3 to 1.7 on a loaded machine). SQLite,
 * and PostgreSQL when it is reachable.
 *
 *   git archive <commit before history> | tar -x -C /tmp/base && (cd /tmp/base && npm ci && npm run build)
 *   BENCH_BASE_ROOT=/tmp/base npm run bench -- --history --rounds 6 --seconds 5
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { type CompareOptions, type Comparison, type Endpoint, type Figures, median } from "./compare.js";
import { type LoadResult, load } from "./load.js";
import { POSTGRES_URL, postgresVersion } from "./postgres.js";
import { cpuSeconds, type RunningServer, type ServerSpec, serviceSpec, startServer, stopServer } from "./servers.js";

const WITH_PORT = 5221;
const WITHOUT_PORT = 5222;

/** Person 1's first note in the tutorial's data. */
const PUT: Endpoint = {
  name: "PUT /api/people/{id}/notes/{note_id}",
  kind: "write",
  target: { method: "PUT", path: "", ids: [1, 1] },
};

export interface HistoryCost {
  engine: "sqlite" | "postgres";
  comparison: Comparison;
  /** Extra time per PUT with history, from the req/s ratio: 1 / ratio − 1. */
  rpsCost: number;
  /** Extra server CPU per PUT with history. */
  cpuCost: number;
}

function withoutHistory(port: number, databaseUrl: string): ServerSpec {
  const base = process.env.BENCH_BASE_ROOT;
  if (!base) throw new Error("BENCH_BASE_ROOT must name a built checkout without note history");
  const spec = serviceSpec(port, databaseUrl);
  return { ...spec, name: "without history", command: [process.execPath, join(resolve(base), "dist/server.js")] };
}

async function measureOn(
  engine: "sqlite" | "postgres",
  urls: { with: string; without: string },
  options: CompareOptions,
): Promise<HistoryCost> {
  const running: RunningServer[] = [];
  try {
    const withHistory = await startServer({ ...serviceSpec(WITH_PORT, urls.with), name: "with history" });
    running.push(withHistory);
    running.push(await startServer(withoutHistory(WITHOUT_PORT, urls.without)));
    const comparison = await sideBySide(withHistory, running[1] as RunningServer, { ...options, engine });
    return {
      engine,
      comparison,
      rpsCost: 1 / comparison.ratio - 1,
      cpuCost: comparison.service.cpuUs / comparison.baseline.cpuUs - 1,
    };
  } finally {
    for (const server of running) await stopServer(server);
  }
}

interface Measured extends LoadResult {
  cpuUs: number;
}

const figures = (results: Measured[]): Figures => ({
  rps: median(results.map((r) => r.rps)),
  p50Ms: median(results.map((r) => r.p50Ms)),
  p99Ms: median(results.map((r) => r.p99Ms)),
  cpuUs: median(results.map((r) => r.cpuUs)),
});

/** One warm-up, then rounds in which both servers take the same load at once. */
async function sideBySide(a: RunningServer, b: RunningServer, options: CompareOptions): Promise<Comparison> {
  const { tool, seconds, rounds, log } = options;
  await Promise.all([a, b].map((server) => load(tool, server.url, PUT.target, options.warmupSeconds)));
  const results: [Measured[], Measured[]] = [[], []];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = [cpuSeconds(a), cpuSeconds(b)];
    const loads = await Promise.all([a, b].map((server) => load(tool, server.url, PUT.target, seconds)));
    const measured = loads.map((result, i) => ({
      ...result,
      cpuUs: ((([cpuSeconds(a), cpuSeconds(b)][i] as number) - (before[i] as number)) * 1e6) / result.requests,
    })) as [Measured, Measured];
    results[0].push(measured[0]);
    results[1].push(measured[1]);
    ratios.push(measured[0].rps / measured[1].rps);
  }
  const comparison: Comparison = {
    endpoint: PUT.name,
    dataset: options.dataset,
    engine: options.engine,
    kind: "write",
    // History may cost a PUT at most 15 %.
    target: 1 / 1.15,
    ratios,
    ratio: median(ratios),
    service: figures(results[0]),
    baseline: figures(results[1]),
    errors: [...results[0], ...results[1]].reduce((sum, r) => sum + r.errors, 0),
  };
  log(
    `  rounds ${ratios.map((r) => r.toFixed(2)).join(" ")}${comparison.errors > 0 ? `, ${comparison.errors} ERRORS` : ""}`,
  );
  return comparison;
}

async function onPostgres<T>(work: (urls: { with: string; without: string }) => Promise<T>): Promise<T> {
  const schemas = [`bench_history_${process.pid}_with`, `bench_history_${process.pid}_without`];
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`create schema ${schema}`);
    const url = (schema: string) => {
      const parsed = new URL(POSTGRES_URL);
      parsed.searchParams.set("schema", schema);
      return parsed.toString();
    };
    return await work({ with: url(schemas[0] as string), without: url(schemas[1] as string) });
  } finally {
    for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

export async function measureHistory(options: Omit<CompareOptions, "dataset" | "engine">): Promise<HistoryCost[]> {
  const costs: HistoryCost[] = [];
  const compareOptions = { ...options, dataset: "tutorial", engine: "sqlite" as const };
  const folder = mkdtempSync(join(tmpdir(), "people-notes-bench-history-"));
  try {
    const urls = { with: `sqlite:${join(folder, "with.db")}`, without: `sqlite:${join(folder, "without.db")}` };
    options.log("history: SQLite");
    costs.push(await measureOn("sqlite", urls, compareOptions));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  if (await postgresVersion()) {
    options.log("history: PostgreSQL");
    costs.push(await onPostgres((urls) => measureOn("postgres", urls, compareOptions)));
  }
  for (const cost of costs) {
    const { comparison } = cost;
    options.log(
      `history on ${cost.engine}: with/without req/s ${comparison.ratio.toFixed(2)} ` +
        `(rounds ${comparison.ratios.map((r) => r.toFixed(2)).join(" ")}), ` +
        `${Math.round(comparison.service.rps)} vs ${Math.round(comparison.baseline.rps)} req/s, ` +
        `CPU/PUT ${Math.round(comparison.service.cpuUs)} vs ${Math.round(comparison.baseline.cpuUs)} µs: ` +
        `cost ${(cost.rpsCost * 100).toFixed(1)} % by req/s, ${(cost.cpuCost * 100).toFixed(1)} % by CPU ` +
        `(median ratio ${median(comparison.ratios).toFixed(2)})`,
    );
  }
  return costs;
}
