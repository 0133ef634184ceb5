/**
 * Process start to first answered request (`GET /api/people/1`), for the service and the bare
 * baseline, interleaved: wall time, and the CPU time the process used until then (all its threads,
 * user and system, from /proc), which moves much less than wall time when the machine is shared.
 *
 *   npm run bench -- --startup                  # 1m dataset, 5 starts of each
 *   npm run bench -- --startup --samples 10 --datasets 1k
 */
import { connect } from "node:net";
import { loadavg } from "node:os";
import type { DatasetName } from "./dataset.js";
import { workingCopy } from "./endpoints.js";
import { ensureSqliteDataset } from "./seed.js";
import { baselineSpec, cpuSeconds, HOST, type ServerSpec, serviceSpec, startServer, stopServer } from "./servers.js";

export interface StartupSample {
  wallMs: number;
  cpuMs: number;
}

export interface StartupResults {
  dataset: string;
  service: StartupSample[];
  baseline: StartupSample[];
  /** The 1-minute load average before and after, since wall time depends on it. */
  load: [number, number];
}

/** A server already listening on the port would answer for the one being started. */
async function refuseIfTaken(port: number): Promise<void> {
  const taken = await new Promise<boolean>((done) => {
    const socket = connect({ port, host: HOST });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
  if (taken) throw new Error(`port ${port} is taken: stop what listens there first`);
}

async function startOnce(spec: ServerSpec): Promise<StartupSample> {
  await refuseIfTaken(spec.port);
  const server = await startServer(spec);
  try {
    return { wallMs: server.startupMs, cpuMs: cpuSeconds(server) * 1000 };
  } finally {
    await stopServer(server);
  }
}

/** `samples` fresh starts of each server on a copy of `path`, alternating. */
export async function measureStartup(
  dataset: string,
  path: string,
  samples: number,
  ports: { service: number; baseline: number },
): Promise<StartupResults> {
  const results: StartupResults = { dataset, service: [], baseline: [], load: [loadavg()[0] ?? 0, 0] };
  for (let i = 0; i < samples; i++) {
    results.service.push(await startOnce(serviceSpec(ports.service, `sqlite:${path}`)));
    results.baseline.push(await startOnce(baselineSpec(ports.baseline, path)));
  }
  results.load[1] = loadavg()[0] ?? 0;
  return results;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

export function describeStartup(results: StartupResults): string {
  const line = (name: string, samples: StartupSample[]) =>
    `${name}: wall ${samples.map((s) => s.wallMs.toFixed(0)).join(", ")} ms (median ${median(samples.map((s) => s.wallMs)).toFixed(0)}); ` +
    `CPU ${samples.map((s) => s.cpuMs.toFixed(0)).join(", ")} ms (median ${median(samples.map((s) => s.cpuMs)).toFixed(0)})`;
  return [
    `start-up on ${results.dataset}, load average ${results.load[0].toFixed(1)} → ${results.load[1].toFixed(1)}`,
    line("  service ", results.service),
    line("  baseline", results.baseline),
  ].join("\n");
}

/** The `--startup` mode of `npm run bench`. */
export async function runStartup(dataset: DatasetName, samples: number): Promise<StartupResults> {
  const seeded = await ensureSqliteDataset(dataset);
  const path = workingCopy(seeded.path, dataset);
  const results = await measureStartup(dataset, path, samples, { service: 5231, baseline: 5232 });
  console.log(describeStartup(results));
  return results;
}
