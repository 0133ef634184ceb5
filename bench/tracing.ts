/**
 * What tracing costs: the service with tracing off and on (spans sent to an OTLP/HTTP receiver in
 * this process, which answers at once), and, with BENCH_BEFORE_ROOT naming a built checkout from
 * before tracing existed, that one too. The same requests on each, rounds interleaved across the
 * servers and their order rotated, so that drift on a shared machine falls on all of them alike;
 * the figures are medians, CPU per request the steadier of them.
 *
 *   npm run bench -- --tracing      # 1k dataset, SQLite, 5 rounds of 3 s (about four minutes)
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { median } from "./compare.js";
import { endpointsOf, workingCopy } from "./endpoints.js";
import { type LoadTool, load } from "./load.js";
import { ensureSqliteDataset } from "./seed.js";
import { cpuSeconds, type RunningServer, serviceSpec, startServer, stopServer } from "./servers.js";

const FIRST_PORT = 5240;
const ROUNDS = 5;
const SECONDS = 3;
const WARMUP_SECONDS = 2;
const MEASURED = ["GET /api/people/{id}", "GET /api/notes (first page)", "POST /api/people/{id}/notes"];

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Round {
  rps: number;
  cpuUs: number;
  errors: number;
}

/** A receiver that takes every export and answers 200 at once, counting what it took. */
async function otlpSink(): Promise<{ url: string; exports: () => number; close: () => void }> {
  let exports = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      exports++;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, exports: () => exports, close: () => server.close() };
}

export async function measureTracing(tool: LoadTool): Promise<void> {
  const seeded = await ensureSqliteDataset("1k", false);
  const sink = await otlpSink();
  const before = process.env.BENCH_BEFORE_ROOT;
  const off = { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" };
  const variants = [
    ...(before ? [{ name: "before tracing", root: resolve(before), env: off }] : []),
    { name: "tracing off", root: undefined, env: off },
    {
      name: "tracing on",
      root: undefined,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" },
    },
  ];
  const servers: RunningServer[] = [];
  try {
    for (const [i, variant] of variants.entries()) {
      const path = workingCopy(seeded.path, `tracing-${i}`);
      const spec = serviceSpec(FIRST_PORT + i, `sqlite:${path}`);
      servers.push(
        await startServer({
          ...spec,
          name: variant.name,
          ...(variant.root ? { command: [process.execPath, join(variant.root, "dist/server.js")] } : {}),
          env: { ...spec.env, ...variant.env },
        }),
      );
    }
    const endpoints = endpointsOf(workingCopy(seeded.path, "tracing-ids")).filter((e) => MEASURED.includes(e.name));
    for (const endpoint of endpoints) {
      for (const server of servers) await load(tool, server.url, endpoint.target, WARMUP_SECONDS);
      const rounds = new Map<string, Round[]>(servers.map((server) => [server.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = servers.map((_, i) => servers[(i + round) % servers.length] as RunningServer);
        for (const server of order) {
          const cpuBefore = cpuSeconds(server);
          const result = await load(tool, server.url, endpoint.target, SECONDS);
          const cpuUs = ((cpuSeconds(server) - cpuBefore) * 1e6) / result.requests;
          rounds.get(server.name)?.push({ rps: result.rps, cpuUs, errors: result.errors });
        }
      }
      const figures = servers.map((server) => {
        const results = rounds.get(server.name) ?? [];
        return {
          name: server.name,
          rps: median(results.map((r) => r.rps)),
          cpuUs: median(results.map((r) => r.cpuUs)),
          errors: results.reduce((sum, r) => sum + r.errors, 0),
        };
      });
      log(
        `${endpoint.name.padEnd(30)} ` +
          figures
            .map(
              (f) =>
                `${f.name}: ${Math.round(f.rps)} req/s, ${Math.round(f.cpuUs)} µs CPU/req` +
                (f.errors > 0 ? ` (${f.errors} ERRORS)` : ""),
            )
            .join(" | "),
      );
    }
    log(`the receiver took ${sink.exports()} exports`);
  } finally {
    for (const server of servers) await stopServer(server);
    sink.close();
  }
}
