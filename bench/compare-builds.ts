/**
 * CPU per note POST of several built checkouts of the service side by side, beside the bare
 * baseline: each on its own copy of the 1k dataset in /dev/shm (fsync costs nothing there), loaded
 * in turn under one connection as the gate does, the order turning every round, so that what the
 * machine's other work does to one round it does to all of them. For a before/after of a change
 * to the write path; BENCH_SERVICE_ROOT measures one other checkout at a time instead.
 *
 *   npx tsx bench/compare-builds.ts before=/path/to/old/checkout after=. [--rounds 9] [--seconds 2]
 *
 * Each path is a checkout with `dist/` built (`npm run build`).
 */
import { copyFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median } from "./compare.js";
import { endpointsOf } from "./endpoints.js";
import { ensureLoadTool } from "./load.js";
import { loadAverageLine, rotatingRounds, scratchDir } from "./rounds.js";
import { ensureSqliteDataset } from "./seed.js";
import { baselineSpec, type RunningServer, serviceSpec, startServer, stopServer } from "./servers.js";

const { values: args, positionals } = parseArgs({
  options: { rounds: { type: "string", default: "9" }, seconds: { type: "string", default: "2" } },
  allowPositionals: true,
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const builds = positionals.map((pair) => {
  const at = pair.indexOf("=");
  if (at <= 0) throw new Error(`"${pair}": name each checkout, as name=path`);
  return { name: pair.slice(0, at), root: resolve(pair.slice(at + 1)) };
});
if (builds.length === 0) throw new Error("name at least one checkout, as name=path");

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const tool = ensureLoadTool(log);
  const seeded = await ensureSqliteDataset("1k");
  const post = endpointsOf(seeded.path).find((e) => e.name === "POST /api/people/{id}/notes");
  if (!post) throw new Error("no POST endpoint");
  const dir = scratchDir("builds");
  const servers: { name: string; server: RunningServer }[] = [];
  try {
    let port = 5501;
    for (const side of [...builds, { name: "bare baseline", root: undefined }]) {
      const path = join(dir, `${servers.length}.db`);
      copyFileSync(seeded.path, path);
      const spec = side.root === undefined ? baselineSpec(port, path) : serviceSpec(port, `sqlite:${path}`);
      if (side.root !== undefined) spec.command = [process.execPath, join(side.root, "dist/server.js")];
      servers.push({ name: side.name, server: await startServer(spec) });
      port++;
    }
    const perRequest = await rotatingRounds(
      tool,
      servers.map(({ server }) => server),
      post.target,
      { rounds, seconds, log },
    );
    console.log("\nCPU µs per note POST (one connection, median of rounds; per-round figures)");
    servers.forEach(({ name }, i) => {
      const figures = perRequest[i] ?? [];
      console.log(
        `${name.padEnd(16)} ${median(figures).toFixed(0).padStart(5)}   ${figures.map((x) => x.toFixed(0)).join(" ")}`,
      );
    });
    console.log(loadAverageLine());
  } finally {
    for (const { server } of servers) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
