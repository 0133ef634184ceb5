/**
 * The gate: CI (.ci/run) fails when a change makes a benchmarked endpoint costlier. For each endpoint
 * it measures the service's CPU time per request against the bare baseline's in the same run (a
 * ratio, so the machine's speed and how busy it is mostly cancel out) and compares the median ratio
 * with the figure committed in bench/gate.json; beyond the band, it fails naming the endpoint.
 *
 *   npm run bench -- --gate                      # measure and compare (a step of .ci/run)
 *   npm run bench -- --gate --update --why TEXT  # measure and commit the figures anew, saying why
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { openStore } from "../src/db/database.js";
import { type Endpoint, median } from "./compare.js";
import { endpointsOf } from "./endpoints.js";
import { type LoadTool, load } from "./load.js";
import { measureRound, scratchDir } from "./rounds.js";
import { seedStore } from "./seed.js";
import { baselineSpec, ROOT, type RunningServer, serviceSpec, startServer, stopServer } from "./servers.js";

export const GATE_FILE = join(ROOT, "bench/gate.json");

/** The endpoints gated, by their names in bench/endpoints.ts: the most used read, a page, a write. */
export const GATED = ["GET /api/people/{id}", "GET /api/notes (first page)", "POST /api/people/{id}/notes"];

export interface GateFile {
  /** Why the figures are what they are: said by whoever committed them last. */
  why: string;
  /**
   * By endpoint: the median service/baseline CPU time per request, and how much costlier a
   * measurement may be before the gate fails (0.15 is 15 %), the noise measured on that endpoint.
   */
  endpoints: Record<string, { ratio: number; band: number }>;
}

export interface GateResult {
  endpoint: string;
  /** Service/baseline CPU time per request, one per round. */
  ratios: number[];
  ratio: number;
  serviceUs: number;
  baselineUs: number;
}

export interface GateOptions {
  tool: LoadTool;
  rounds: number;
  seconds: number;
  /** Only these endpoints (names from GATED). */
  only?: string[];
  /** Loads bench/slow-route.mjs into the service: the gate's own test of itself. */
  slow?: { request: string; microseconds: number };
  log: (line: string) => void;
}

export function readGateFile(path = GATE_FILE): GateFile {
  return JSON.parse(readFileSync(path, "utf8")) as GateFile;
}

/** The band of a newly gated endpoint, until its noise is measured. */
const DEFAULT_BAND = 0.15;

/** What fails: every endpoint whose ratio is beyond the committed one by more than the band, or is not committed. */
export function verdict(results: GateResult[], committed: GateFile): { failures: string[]; notes: string[] } {
  const failures: string[] = [];
  const notes: string[] = [];
  for (const result of results) {
    const figure = committed.endpoints[result.endpoint];
    if (figure === undefined) {
      failures.push(`${result.endpoint}: no committed figure in bench/gate.json (measured ${result.ratio.toFixed(2)})`);
      continue;
    }
    const { ratio: expected, band } = figure;
    const change = result.ratio / expected - 1;
    const how = `${result.ratio.toFixed(2)}× the baseline's CPU per request, committed ${expected.toFixed(2)}× (${change >= 0 ? "+" : ""}${(change * 100).toFixed(0)} %)`;
    if (change > band) {
      failures.push(`${result.endpoint} is costlier: ${how}, beyond its ${(band * 100).toFixed(0)} % band`);
    } else if (change < -band) {
      notes.push(`${result.endpoint} is cheaper: ${how}; commit the new figure with --update --why`);
    } else {
      notes.push(`${result.endpoint}: ${how}`);
    }
  }
  return { failures, notes };
}

/** A port nobody listens on now: the gate may run beside other benchmarks and tests. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

type Round = Awaited<ReturnType<typeof measureRound>>;

/** One round on one server: its CPU time per request. */
const gateMeasure = (tool: LoadTool, server: RunningServer, endpoint: Endpoint, seconds: number) =>
  measureRound(tool, server, endpoint.target, seconds, GATE_CONNECTIONS);

/** Both servers, in the order given: alternated, so neither always runs on a machine the other has warmed. */
async function gateRound(
  tool: LoadTool,
  service: RunningServer,
  baseline: RunningServer,
  endpoint: Endpoint,
  seconds: number,
  serviceFirst: boolean,
): Promise<[Round, Round]> {
  if (serviceFirst) {
    const a = await gateMeasure(tool, service, endpoint, seconds);
    return [a, await gateMeasure(tool, baseline, endpoint, seconds)];
  }
  const b = await gateMeasure(tool, baseline, endpoint, seconds);
  return [await gateMeasure(tool, service, endpoint, seconds), b];
}

/** Measures the gated endpoints on a fresh 1k dataset of its own, the same data for both servers. */
export async function measureGate(options: GateOptions): Promise<GateResult[]> {
  const { tool, rounds, seconds, log } = options;
  const dir = scratchDir("gate");
  const path = join(dir, "1k.db");
  try {
    const store = openStore({ engine: "sqlite", path });
    try {
      await seedStore(store, "1k");
    } finally {
      await store.close();
    }
    // Each server writes to a file of its own: a WAL checkpoint's cost falls on the server whose
    // write set it off, so sharing one file would bill one server for the other's writes.
    const baselinePath = join(dir, "1k-baseline.db");
    copyFileSync(path, baselinePath);
    const names = options.only ?? GATED;
    const endpoints = endpointsOf(path).filter((e) => names.includes(e.name));
    const slow = options.slow;
    const spec = serviceSpec(
      await freePort(),
      `sqlite:${path}`,
      slow ? ["--import", join(ROOT, "bench/slow-route.mjs")] : [],
    );
    if (slow) {
      spec.env.BENCH_SLOW_REQUEST = slow.request;
      spec.env.BENCH_SLOW_MICROSECONDS = String(slow.microseconds);
    }
    const service = await startServer(spec);
    try {
      const baseline = await startServer(baselineSpec(await freePort(), baselinePath));
      try {
        const results: GateResult[] = [];
        for (const endpoint of endpoints) {
          // Long enough for the service's JIT to settle (the first seconds of a write cost more than the
          // rest); the baseline has far less code to compile.
          await load(tool, service.url, endpoint.target, WARMUP_SECONDS);
          await load(tool, baseline.url, endpoint.target, 1);
          const ratios: number[] = [];
          const serviceUs: number[] = [];
          const baselineUs: number[] = [];
          for (let round = 0; round < rounds; round++) {
            const [a, b] = await gateRound(tool, service, baseline, endpoint, seconds, round % 2 === 0);
            // An error answer costs less than a real one: such a round measures nothing.
            if (a.errors > 0 || b.errors > 0) {
              throw new Error(`${endpoint.name}: ${a.errors} errors from the service, ${b.errors} from the baseline`);
            }
            ratios.push(a.cpuUs / b.cpuUs);
            serviceUs.push(a.cpuUs);
            baselineUs.push(b.cpuUs);
          }
          const result = {
            endpoint: endpoint.name,
            ratios,
            ratio: median(ratios),
            serviceUs: median(serviceUs),
            baselineUs: median(baselineUs),
          };
          log(
            `  ${endpoint.name.padEnd(30)} CPU/request ${result.ratio.toFixed(2)}× ` +
              `(rounds ${ratios.map((r) => r.toFixed(2)).join(" ")}) ` +
              `service ${Math.round(result.serviceUs)} µs, baseline ${Math.round(result.baselineUs)} µs`,
          );
          results.push(result);
        }
        return results;
      } finally {
        await stopServer(baseline);
      }
    } finally {
      await stopServer(service);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const WARMUP_SECONDS = 2;
/**
 * One client, so every request is a turn of the server's event loop of its own. Under 20 clients a
 * server answers several requests a turn, and how many depends on how busy the machine is: the
 * service's CPU per request (which batches its log writes per turn) doubled beside two CPU hogs
 * while the baseline's rose a fifth, where under one client both moved alike.
 */
const GATE_CONNECTIONS = 1;
export const GATE_ROUNDS = 5;
export const GATE_SECONDS = 1;

/** `npm run bench -- --gate`: 0 when every endpoint is within the band, else 1 (and what failed). */
/**
 * bench/gate.json with these ratios and this reason, each endpoint keeping its band: one endpoint
 * a line, so a commit's diff shows which figures changed.
 */
export function updatedGateFile(results: GateResult[], committed: GateFile, why: string): string {
  const endpoints = Object.fromEntries(
    results.map((r) => [
      r.endpoint,
      { ratio: Number(r.ratio.toFixed(2)), band: committed.endpoints[r.endpoint]?.band ?? DEFAULT_BAND },
    ]),
  );
  const json = JSON.stringify({ why, endpoints } satisfies GateFile, null, 2).replace(
    /\{\s+"ratio": ([\d.]+),\s+"band": ([\d.]+)\s+\}/g,
    '{ "ratio": $1, "band": $2 }',
  );
  return `${json}\n`;
}

/** Measures and compares with bench/gate.json (0 passed, 1 failed); with `update`, rewrites it instead (2 without a reason). */
export async function runGate(options: {
  tool: LoadTool;
  update: boolean;
  why?: string;
  rounds?: number;
  seconds?: number;
  log: (line: string) => void;
}): Promise<number> {
  const { log } = options;
  if (options.update && !options.why) {
    log("--update needs --why TEXT: the reason the figures change, kept in bench/gate.json beside them");
    return 2;
  }
  const started = Date.now();
  const results = await measureGate({
    tool: options.tool,
    rounds: options.rounds ?? GATE_ROUNDS,
    seconds: options.seconds ?? GATE_SECONDS,
    log,
  });
  const committed = readGateFile();
  if (options.update) {
    writeFileSync(GATE_FILE, updatedGateFile(results, committed, options.why ?? ""));
    log(`bench/gate.json updated: commit it, saying why (${options.why})`);
    return 0;
  }
  const { failures, notes } = verdict(results, committed);
  for (const note of notes) log(note);
  for (const failure of failures) log(`FAILED ${failure}`);
  log(`gate ${failures.length > 0 ? "failed" : "passed"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return failures.length > 0 ? 1 : 0;
}
