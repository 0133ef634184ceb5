/**
 * Side-by-side measurement: one warm-up per side, then interleaved rounds (the order alternates, so
 * neither side always runs on a machine warmed or disturbed by the other) and the median ratio.
 */
import { type LoadResult, type LoadTool, load, type Target } from "./load.js";
import { cpuSeconds, type RunningServer } from "./servers.js";

export interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per request (user + system), in microseconds. */
  cpuUs: number;
}

interface Measured extends LoadResult {
  cpuUs: number;
}

export interface Comparison {
  endpoint: string;
  dataset: string;
  /** The service's database engine; the baseline is always SQLite. */
  engine: "sqlite" | "postgres";
  kind: "read" | "write";
  target: number;
  ratios: number[];
  ratio: number;
  service: Figures;
  baseline: Figures;
  /** Non-2xx answers or socket errors seen in any round (should be 0). */
  errors: number;
}

export interface Endpoint {
  name: string;
  kind: "read" | "write";
  target: Target;
}

/**
 * Service/baseline req/s, issue 22: every read at least 0.9 of the bare server; note POST and PUT
 * 1.5 times it, every write still synced before its answer (issue 4 asked 0.8 and 0.7).
 */
export const TARGET_RATIO = { read: 0.9, write: 1.5 } as const;

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const figures = (results: Measured[]): Figures => ({
  rps: median(results.map((r) => r.rps)),
  p50Ms: median(results.map((r) => r.p50Ms)),
  p99Ms: median(results.map((r) => r.p99Ms)),
  cpuUs: median(results.map((r) => r.cpuUs)),
});

async function measure(tool: LoadTool, server: RunningServer, endpoint: Endpoint, seconds: number): Promise<Measured> {
  const cpuBefore = cpuSeconds(server);
  const result = await load(tool, server.url, endpoint.target, seconds);
  const cpu = cpuSeconds(server) - cpuBefore;
  return { ...result, cpuUs: (cpu * 1e6) / result.requests };
}

export interface CompareOptions {
  tool: LoadTool;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  dataset: string;
  engine: "sqlite" | "postgres";
  log: (line: string) => void;
}

export async function compare(
  service: RunningServer,
  baseline: RunningServer,
  endpoint: Endpoint,
  options: CompareOptions,
): Promise<Comparison> {
  const { tool, seconds, rounds, log } = options;
  await load(tool, service.url, endpoint.target, options.warmupSeconds);
  await load(tool, baseline.url, endpoint.target, options.warmupSeconds);
  const serviceResults: Measured[] = [];
  const baselineResults: Measured[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let a: Measured;
    let b: Measured;
    if (round % 2 === 0) {
      a = await measure(tool, service, endpoint, seconds);
      b = await measure(tool, baseline, endpoint, seconds);
    } else {
      b = await measure(tool, baseline, endpoint, seconds);
      a = await measure(tool, service, endpoint, seconds);
    }
    serviceResults.push(a);
    baselineResults.push(b);
    ratios.push(a.rps / b.rps);
  }
  const result: Comparison = {
    endpoint: endpoint.name,
    dataset: options.dataset,
    engine: options.engine,
    kind: endpoint.kind,
    target: TARGET_RATIO[endpoint.kind],
    ratios,
    ratio: median(ratios),
    service: figures(serviceResults),
    baseline: figures(baselineResults),
    errors: [...serviceResults, ...baselineResults].reduce((sum, r) => sum + r.errors, 0),
  };
  log(
    `  ${endpoint.name.padEnd(40)} ratio ${result.ratio.toFixed(2)} ` +
      `(rounds ${ratios.map((r) => r.toFixed(2)).join(" ")}) ` +
      `service ${Math.round(result.service.rps)} req/s, baseline ${Math.round(result.baseline.rps)} req/s, ` +
      `CPU/req ${Math.round(result.service.cpuUs)} vs ${Math.round(result.baseline.cpuUs)} µs` +
      (result.errors > 0 ? `, ${result.errors} ERRORS` : ""),
  );
  return result;
}
