/**
 * What the benchmarks that compare servers' CPU per request share (bench/gate.ts,
 * bench/compare-builds.ts, bench/write-parts.ts): a scratch folder on memory, one measured round
 * on one server, and rounds over several servers whose order turns each round, so that what the
 * machine's other work does to one round it does to all of them.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type LoadTool, load, type Target } from "./load.js";
import { type RunningServer, threadCpuSeconds } from "./servers.js";

/** On memory when there is room (no disk flush waits in the write rounds), else the temporary folder. */
export function scratchDir(name: string): string {
  return mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `people-notes-${name}-`));
}

/** One round on one server: its CPU time per request, read from the scheduler's per-thread counts. */
export async function measureRound(
  tool: LoadTool,
  server: RunningServer,
  target: Target,
  seconds: number,
  connections: number,
): Promise<{ cpuUs: number; errors: number }> {
  const before = threadCpuSeconds(server);
  const result = await load(tool, server.url, target, seconds, connections);
  return { cpuUs: ((threadCpuSeconds(server) - before) * 1e6) / result.requests, errors: result.errors };
}

/**
 * Each server warmed for 2 s, then `rounds` rounds of `seconds` each under one connection, the
 * order turning every round; the CPU µs per request of each server, a figure per round. An error
 * answer stops the run.
 */
export async function rotatingRounds(
  tool: LoadTool,
  servers: RunningServer[],
  target: Target,
  { rounds, seconds, log }: { rounds: number; seconds: number; log: (line: string) => void },
): Promise<number[][]> {
  for (const server of servers) await load(tool, server.url, target, 2, 1);
  const perRequest = servers.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const i of servers.map((_, i) => (i + round) % servers.length)) {
      const server = servers[i] as RunningServer;
      const { cpuUs, errors } = await measureRound(tool, server, target, seconds, 1);
      if (errors > 0) throw new Error(`${server.name}: ${errors} errors`);
      perRequest[i]?.push(cpuUs);
    }
    log(`round ${round + 1}/${rounds}, load ${loadavg()[0]?.toFixed(1)}`);
  }
  return perRequest;
}

/** The machine's load averages, for the end of a report. */
export function loadAverageLine(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`;
}
