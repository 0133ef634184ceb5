/**
 * `npm run bench`: the service against the bare baseline, side by side, on the 1k and 1m datasets
 * (and on PostgreSQL when a server is reachable); the table goes into docs/benchmarks.md.
 *
 *   npm run bench                  # full run: 1k and 1m, 5 rounds of 5 s per endpoint (about 25 min)
 *   npm run bench -- --quick       # 1k only, 5 rounds of 1 s, SQLite only (under two minutes)
 *   npm run bench -- --data-layer  # concurrent PostgreSQL inserts and heavy authors (bench/data-layer.ts)
 *   npm run bench -- --copy        # db copy of 1m notes, SQLite → PostgreSQL and back (bench/copy.ts)
 *   npm run bench -- --export      # GET /api/export of 1m notes: time and the server's peak RSS (bench/export.ts)
 *   npm run bench -- --workers     # 1, 2 and 4 workers on PostgreSQL (bench/workers.ts)
 *   npm run bench -- --events      # 500 event streams on one process: memory, CPU, delivery (bench/events.ts)
 *   npm run bench -- --search      # search p50/p99 on the 1m dataset, SQLite and PostgreSQL (bench/search.ts)
 *   npm run bench -- --tracing     # tracing off and on (and BENCH_BEFORE_ROOT's build), 1k, SQLite (bench/tracing.ts)
 *   npm run bench -- --startup     # process start to first answer on 1m, wall and CPU time (bench/startup.ts)
 *   npm run bench -- --history     # a note PUT with history against a build without it (bench/history.ts)
 *   npm run bench -- --gate        # CPU per request against bench/gate.json; fails on a costlier endpoint (bench/gate.ts)
 *   npm run bench -- --gate --update --why TEXT   # commit new gate figures, saying why
 *   options: --rounds N --seconds N --samples N --datasets 1k,1m --only TEXT --no-postgres --docs/--no-docs --no-build --fresh
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { type CompareOptions, type Comparison, compare, type Endpoint } from "./compare.js";
import { measureCopy } from "./copy.js";
import { measureDataLayer } from "./data-layer.js";
import type { DatasetName } from "./dataset.js";
import { endpointsOf, workingCopy } from "./endpoints.js";
import { measureEvents } from "./events.js";
import { measureExport } from "./export.js";
import { runGate } from "./gate.js";
import { measureHistory } from "./history.js";
import { CONNECTIONS, ensureLoadTool, loadToolVersion, type Target } from "./load.js";
import { compareReads, compareWrites } from "./parity.js";
import { createPostgresDataset, postgresVersion } from "./postgres.js";
import { machine, type Results, resultsMarkdown, type ScaleCheck, saveJson, writeDocs } from "./report.js";
import { measureSearch } from "./search.js";
import { ensureSqliteDataset, type SeedReport } from "./seed.js";
import { baselineSpec, PeakMemory, ROOT, type RunningServer, serviceSpec, startServer, stopServer } from "./servers.js";
import { describeStartup, measureStartup, runStartup } from "./startup.js";
import { measureTracing } from "./tracing.js";
import { measureWorkers } from "./workers.js";

const SERVICE_PORT = 5201;
const BASELINE_PORT = 5202;
const STARTUP_SAMPLES = 5;

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "data-layer": { type: "boolean", default: false },
    copy: { type: "boolean", default: false },
    export: { type: "boolean", default: false },
    workers: { type: "boolean", default: false },
    search: { type: "boolean", default: false },
    events: { type: "boolean", default: false },
    tracing: { type: "boolean", default: false },
    startup: { type: "boolean", default: false },
    samples: { type: "string" },
    history: { type: "boolean", default: false },
    gate: { type: "boolean", default: false },
    update: { type: "boolean", default: false },
    why: { type: "string" },
    rounds: { type: "string" },
    seconds: { type: "string" },
    datasets: { type: "string" },
    only: { type: "string" },
    postgres: { type: "boolean" },
    "no-postgres": { type: "boolean", default: false },
    docs: { type: "boolean" },
    "no-docs": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    fresh: { type: "boolean", default: false },
  },
});

const quick = args.quick === true;
const settings = {
  rounds: Number(args.rounds ?? 5),
  seconds: Number(args.seconds ?? (quick ? 1 : 5)),
  datasets: (args.datasets ?? (quick ? "1k" : "1k,1m")).split(",") as DatasetName[],
  postgres: args.postgres ?? (!quick && !args["no-postgres"]),
  docs: args.docs ?? (!quick && !args.only && !args["no-docs"]),
};
const warmupSeconds = Math.min(settings.seconds, 3);

function fail(what: string, differences: string[]): never {
  throw new Error(`${what}: the service and the baseline answer differently:\n${differences.join("\n")}`);
}

async function main(): Promise<void> {
  if (args.gate) {
    if (!args["no-build"]) build();
    const rounds = args.rounds === undefined ? undefined : Number(args.rounds);
    const seconds = args.seconds === undefined ? undefined : Number(args.seconds);
    const gate = { tool: ensureLoadTool(log), update: args.update, why: args.why, rounds, seconds, log };
    process.exitCode = await runGate(gate);
    return;
  }
  if (args.history) {
    if (!args["no-build"]) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
    const tool = ensureLoadTool(log);
    await measureHistory({ tool, seconds: settings.seconds, warmupSeconds, rounds: settings.rounds, log });
    return;
  }
  if (args["data-layer"]) {
    await measureDataLayer();
    return;
  }
  if (args.copy) {
    await measureCopy();
    return;
  }
  if (args.export) {
    if (!args["no-build"]) build();
    await measureExport(!args["no-postgres"], (args.datasets ?? "1m") as DatasetName);
    return;
  }
  if (args.search) {
    await measureSearch(!args["no-postgres"], (args.datasets ?? "1m") as DatasetName);
    return;
  }
  if (args.events) {
    if (!args["no-build"]) build();
    await measureEvents();
    return;
  }
  if (args.tracing) {
    if (!args["no-build"]) build();
    await measureTracing(ensureLoadTool(log));
    return;
  }
  if (args.startup) {
    if (!args["no-build"]) build();
    await runStartup((args.datasets ?? "1m") as DatasetName, Number(args.samples ?? 5));
    return;
  }
  if (args.workers) {
    if (!args["no-build"]) build();
    await measureWorkers(ensureLoadTool(log));
    return;
  }
  const started = Date.now();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  if (!args["no-build"]) build();
  const tool = ensureLoadTool(log);
  const pgVersion = settings.postgres ? await postgresVersion() : undefined;
  if (settings.postgres && !pgVersion) log("PostgreSQL is not reachable: SQLite only");

  const results: Results = {
    date: new Date().toISOString(),
    command,
    machine: machine(loadToolVersion(tool), pgVersion),
    settings: { ...settings, warmupSeconds, connections: CONNECTIONS, tool },
    seeding: [],
    comparisons: [],
    scale: [],
    peakRssMb: {},
    startup: { service: [], baseline: [], dataset: "", load: [0, 0] },
  };
  const measure: Measure = { tool, seconds: settings.seconds, warmupSeconds, rounds: settings.rounds, log };

  await checkTutorialAnswers();
  for (const dataset of settings.datasets) {
    const path = await measureDataset(dataset, results, measure, pgVersion !== undefined);
    results.startup = await measureStartup(dataset, path, Number(args.samples ?? STARTUP_SAMPLES), {
      service: SERVICE_PORT,
      baseline: BASELINE_PORT,
    });
    log(describeStartup(results.startup));
  }

  results.scale = scaleChecks(results.comparisons);
  const json = saveJson(results);
  console.log(`\n${resultsMarkdown(results)}\n`);
  log(`results: ${json}`);
  if (settings.docs) log(`table written to ${writeDocs(results)}`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function build(): void {
  log("building the service (npm run build)");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
}

type Measure = Omit<CompareOptions, "dataset" | "engine">;

/** The tutorial data first: the smallest check that both servers give the same answers. */
async function checkTutorialAnswers(): Promise<void> {
  const tutorial = await ensureSqliteDataset("tutorial", args.fresh);
  const path = workingCopy(tutorial.path, "tutorial");
  const service = await startServer(serviceSpec(SERVICE_PORT, `sqlite:${path}`));
  const baseline = await startServer(baselineSpec(BASELINE_PORT, path));
  try {
    const reads = endpointsOf(path).filter((e) => e.kind === "read");
    const missing: Target = { method: "GET", path: "/api/people/99" };
    const differences = [
      ...(await compareReads(service.url, baseline.url, [...reads.map((e) => e.target), missing])),
      ...(await compareWrites(service.url, baseline.url, 1, 1)),
    ];
    if (differences.length > 0) fail("tutorial", differences);
    log("tutorial: the service and the baseline give the same answers");
  } finally {
    await stopServer(service);
    await stopServer(baseline);
  }
}

/**
 * Reads, then (optionally) the same reads with the service on PostgreSQL, then writes, on a fresh
 * copy of the dataset; returns the copy's path.
 */
async function measureDataset(
  dataset: DatasetName,
  results: Results,
  measure: Measure,
  withPostgres: boolean,
): Promise<string> {
  const seeded = await ensureSqliteDataset(dataset, args.fresh);
  results.seeding.push({ ...seeded, engine: "SQLite" });
  const how = seeded.reused ? "reused" : "seeded";
  log(`${dataset}: ${seeded.people} people, ${seeded.notes} notes (${how} ${seeded.seconds.toFixed(1)} s)`);
  const path = workingCopy(seeded.path, dataset);
  const endpoints = endpointsOf(path).filter((e) => !args.only || e.name.includes(args.only));
  const reads = endpoints.filter((e) => e.kind === "read");
  const writes = endpoints.filter((e) => e.kind === "write");
  const [personId = 1, noteId = 1] = writes.find((e) => e.target.method === "PUT")?.target.ids ?? [];

  const service = await startServer(serviceSpec(SERVICE_PORT, `sqlite:${path}`));
  const baseline = await startServer(baselineSpec(BASELINE_PORT, path));
  const running: RunningServer[] = [service, baseline];
  const memory = new PeakMemory();
  memory.watch(() => running);
  try {
    const differences = await compareReads(
      service.url,
      baseline.url,
      reads.map((e) => e.target),
    );
    if (differences.length > 0) fail(dataset, differences);
    log(`${dataset}: same answers from both; reads`);
    for (const endpoint of reads) {
      results.comparisons.push(await compare(service, baseline, endpoint, { ...measure, dataset, engine: "sqlite" }));
    }

    if (withPostgres) {
      const onPostgres = await measurePostgresReads(dataset, baseline, reads, measure, running);
      results.seeding.push({ ...onPostgres.seed, engine: "PostgreSQL", reused: false });
      results.comparisons.push(...onPostgres.comparisons);
    }

    if (writes.length > 0) {
      const writeDifferences = await compareWrites(service.url, baseline.url, personId, noteId);
      if (writeDifferences.length > 0) fail(dataset, writeDifferences);
      log(`${dataset}: writes`);
    }
    for (const endpoint of writes) {
      results.comparisons.push(await compare(service, baseline, endpoint, { ...measure, dataset, engine: "sqlite" }));
    }
  } finally {
    results.peakRssMb[dataset] = memory.stop();
    await stopServer(service);
    await stopServer(baseline);
  }
  return path;
}

/** The same reads with the service on a PostgreSQL schema seeded with the same data. */
async function measurePostgresReads(
  dataset: DatasetName,
  baseline: RunningServer,
  reads: Endpoint[],
  measure: Measure,
  running: RunningServer[],
): Promise<{ seed: SeedReport; comparisons: Comparison[] }> {
  log(`${dataset}: seeding PostgreSQL`);
  const pg = await createPostgresDataset(dataset);
  log(`${dataset}: PostgreSQL seeded in ${pg.seed.seconds.toFixed(1)} s; reads, service on PostgreSQL`);
  const comparisons: Comparison[] = [];
  try {
    const service = await startServer({
      ...serviceSpec(SERVICE_PORT + 10, pg.databaseUrl),
      name: "service on PostgreSQL",
    });
    running.push(service);
    try {
      const differences = await compareReads(
        service.url,
        baseline.url,
        reads.map((e) => e.target),
      );
      if (differences.length > 0) fail(`${dataset} on PostgreSQL`, differences);
      for (const endpoint of reads) {
        comparisons.push(await compare(service, baseline, endpoint, { ...measure, dataset, engine: "postgres" }));
      }
    } finally {
      running.pop();
      await stopServer(service);
    }
  } finally {
    await pg.drop();
  }
  return { seed: pg.seed, comparisons };
}

/** A list page must not get slower as the data grows: p99 at 1m within 1.5× of p99 at 1k. */
function scaleChecks(comparisons: Comparison[]): ScaleCheck[] {
  const pages = ["GET /api/people (first page)", "GET /api/notes (first page)", "GET /api/notes (deep cursor page)"];
  const find = (dataset: string, endpoint: string) =>
    comparisons.find((c) => c.dataset === dataset && c.endpoint === endpoint && c.engine === "sqlite");
  return pages.flatMap((endpoint) => {
    const small = find("1k", endpoint);
    const large = find("1m", endpoint);
    if (!small || !large) return [];
    return [
      {
        endpoint,
        p99SmallMs: small.service.p99Ms,
        p99LargeMs: large.service.p99Ms,
        factor: large.service.p99Ms / small.service.p99Ms,
      },
    ];
  });
}

await main();
