/**
 * `GET /api/export` at scale: the 1m dataset (100,000 people, 1,000,000 notes) streamed by the
 * built server, on SQLite and (when reachable) PostgreSQL, read by a client as fast as it can, and
 * once by a client that pauses, so the server has to wait for it. Reports the time, the bytes, and
 * the server process's peak resident memory (sampled every 50 ms), next to its memory before.
 *
 *   npm run bench -- --export              # seeds or reuses bench/.data/1m.db; about two minutes
 *   npm run bench -- --export --no-postgres --datasets 1k   # SQLite only, 10,000 notes
 */
import { performance } from "node:perf_hooks";
import { type Counts, countsIn } from "../src/db/transfer/tables.js";
import type { DatasetName } from "./dataset.js";
import { workingCopy } from "./endpoints.js";
import { createPostgresDataset, postgresVersion } from "./postgres.js";
import { ensureSqliteDataset } from "./seed.js";
import { PeakMemory, type RunningServer, residentMb, serviceSpec, startServer, stopServer } from "./servers.js";

const PORT = 5231;
/** A server whose export held the data set (228 MiB of NDJSON at 1m) could not finish within this. */
const CAPPED_HEAP_MB = 64;

interface ExportOptions {
  dataset: DatasetName;
  /** Each client: its name, and how long it sleeps after every MiB it reads. */
  clients: [string, number][];
}

const OPTIONS: ExportOptions = {
  dataset: "1m",
  clients: [
    ["reads as fast as it can", 0],
    ["sleeps 50 ms after every MiB", 50],
  ],
};

export interface ExportMeasurement extends Counts {
  engine: string;
  client: string;
  bytes: number;
  seconds: number;
  idleRssMb: number;
  peakRssMb: number;
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Reads the whole export; a slow client sleeps `pauseMs` after every MiB. */
async function download(url: string, pauseMs: number): Promise<{ bytes: number; end: string }> {
  const response = await fetch(`${url}/api/export`);
  if (response.status !== 200) throw new Error(`GET /api/export answered ${response.status}: ${await response.text()}`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let bytes = 0;
  let sincePause = 0;
  let tail = "";
  const decoder = new TextDecoder();
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    bytes += next.value.length;
    sincePause += next.value.length;
    tail = (tail + decoder.decode(next.value, { stream: true })).slice(-200);
    if (pauseMs > 0 && sincePause >= 1 << 20) {
      sincePause = 0;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
  return { bytes, end: tail.trimEnd().split("\n").at(-1) ?? "" };
}

async function measureOn(engine: string, databaseUrl: string, options: ExportOptions): Promise<ExportMeasurement[]> {
  const results: ExportMeasurement[] = [];
  for (const nodeArgs of [[], [`--max-old-space-size=${CAPPED_HEAP_MB}`]]) {
    const capped = nodeArgs.length > 0;
    results.push(
      ...(await measureServer(engine, databaseUrl, capped ? options.clients.slice(0, 1) : options.clients, nodeArgs)),
    );
  }
  return results;
}

async function measureServer(
  engine: string,
  databaseUrl: string,
  clients: ExportOptions["clients"],
  nodeArgs: string[],
): Promise<ExportMeasurement[]> {
  const capped = nodeArgs.length > 0 ? `, server heap capped at ${CAPPED_HEAP_MB} MB` : "";
  const server: RunningServer = await startServer({
    ...serviceSpec(PORT, databaseUrl, nodeArgs),
    name: `service on ${engine}`,
  });
  const results: ExportMeasurement[] = [];
  try {
    for (const [name, pauseMs] of clients) {
      const client = `${name}${capped}`;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const idleRssMb = residentMb(server.process.pid) ?? 0;
      const memory = new PeakMemory();
      memory.watch(() => [server], 50);
      const started = performance.now();
      const { bytes, end } = await download(server.url, pauseMs);
      const seconds = (performance.now() - started) / 1000;
      const peakRssMb = memory.stop()[server.name] ?? idleRssMb;
      const counts = JSON.parse(end) as Counts & { type: string };
      if (counts.type !== "end") throw new Error(`the export did not end with its end record: ${end}`);
      const result = {
        engine,
        client,
        ...countsIn(counts),
        bytes,
        seconds,
        idleRssMb,
        peakRssMb,
      };
      log(
        `${engine}, ${client}: ${counts.notes} notes, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(1)} s; ` +
          `RSS ${idleRssMb.toFixed(0)} MB before, ${peakRssMb.toFixed(0)} MB at most`,
      );
      results.push(result);
    }
  } finally {
    await stopServer(server);
  }
  return results;
}

export async function measureExport(withPostgres: boolean, dataset: DatasetName = "1m"): Promise<ExportMeasurement[]> {
  const options = { ...OPTIONS, dataset };
  const seeded = await ensureSqliteDataset(options.dataset);
  log(`${options.dataset}: ${seeded.people} people, ${seeded.notes} notes in ${seeded.path}`);
  const results = await measureOn("SQLite", `sqlite:${workingCopy(seeded.path, options.dataset)}`, options);
  if (withPostgres && (await postgresVersion())) {
    log(`${options.dataset}: seeding PostgreSQL`);
    const pg = await createPostgresDataset(options.dataset);
    try {
      results.push(...(await measureOn("PostgreSQL", pg.databaseUrl, options)));
    } finally {
      await pg.drop();
    }
  }
  console.log(`\n${exportMarkdown(results)}\n`);
  return results;
}

function exportMarkdown(results: ExportMeasurement[]): string {
  return [
    "| engine | client | notes | body | time | server RSS before | server peak RSS |",
    "|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.engine} | ${r.client} | ${r.notes.toLocaleString("en-US")} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ` +
        `${r.seconds.toFixed(1)} s | ${r.idleRssMb.toFixed(0)} MB | ${r.peakRssMb.toFixed(0)} MB |`,
    ),
  ].join("\n");
}
