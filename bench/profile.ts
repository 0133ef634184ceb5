/**
 * Where the service spends its time: runs it under `node --cpu-prof`, loads one endpoint, and
 * sums the profile's self time by function and by package.
 *
 *   tsx bench/profile.ts                         # every endpoint of the 1k dataset, 5 s each
 *   tsx bench/profile.ts --endpoint "notes/{note_id}" --dataset 1m --seconds 10
 *   tsx bench/profile.ts --summarize some.cpuprofile
 *   tsx bench/profile.ts --endpoint "POST /api" --memory   # the database in /dev/shm: fsync costs
 *                                                          # nothing, so the profile shows CPU, not disk waits
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Endpoint } from "./compare.js";
import type { DatasetName } from "./dataset.js";
import { endpointsOf, workingCopy } from "./endpoints.js";
import { ensureLoadTool, load } from "./load.js";
import { ensureSqliteDataset } from "./seed.js";
import { ROOT, serviceSpec, startServer, stopServer } from "./servers.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const packageAt = url.lastIndexOf("node_modules/");
  if (packageAt !== -1) {
    const parts = url.slice(packageAt + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith("node:") || url === "") return url || "(native)";
  return url.replace(`file://${ROOT}/`, "");
}

/** Self time per function and per package, in percent of all samples, largest first. */
export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const name = `${frame.functionName || "(anonymous)"}  ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = frame.url ? where(frame.url).split(":")[0] || "(native)" : frame.functionName;
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const table = (entries: Map<string, number>, count: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join("\n");
  return `self time by function (${(total / 1e6).toFixed(1)} s sampled)\n${table(functions, top)}\n\nby package or file\n${table(packages, 15)}`;
}

const { values: args } = parseArgs({
  options: {
    dataset: { type: "string", default: "1k" },
    seconds: { type: "string", default: "5" },
    endpoint: { type: "string" },
    summarize: { type: "string" },
    memory: { type: "boolean", default: false },
  },
});

async function profileEndpoint(path: string, endpoint: Endpoint, seconds: number): Promise<string> {
  const dir = join(ROOT, "bench/results/profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const service = await startServer(serviceSpec(5301, `sqlite:${path}`, ["--cpu-prof", "--cpu-prof-dir", dir]));
  const result = await load(ensureLoadTool(console.log), service.url, endpoint.target, seconds);
  await stopServer(service);
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error("the service wrote no profile");
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  return `== ${endpoint.name}: ${Math.round(result.rps)} req/s\n${summarize(profile, 45)}\n`;
}

async function main(): Promise<void> {
  if (args.summarize) {
    console.log(summarize(JSON.parse(readFileSync(args.summarize, "utf8")) as CpuProfile));
    return;
  }
  const dataset = await ensureSqliteDataset(args.dataset as DatasetName);
  // With --memory the dataset is copied straight into /dev/shm, else beside the others.
  const memory = args.memory ? mkdtempSync(join("/dev/shm", "people-notes-profile-")) : undefined;
  let path: string;
  try {
    if (memory) {
      path = join(memory, "profile.db");
      copyFileSync(dataset.path, path);
    } else path = workingCopy(dataset.path, `profile-${args.dataset}`);
    const endpoints = endpointsOf(path).filter((e) => !args.endpoint || e.name.includes(args.endpoint));
    for (const endpoint of endpoints) console.log(await profileEndpoint(path, endpoint, Number(args.seconds)));
  } finally {
    if (memory) rmSync(memory, { recursive: true, force: true });
  }
}

await main();
