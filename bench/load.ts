/**
 * Load generation: wrk (Debian package, installed with apt when missing), else autocannon when it
 * is already installed. Both sides of a comparison always use the same tool.
 */
import { execFile, execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./servers.js";

const run = promisify(execFile);
const WRK_SCRIPTS = resolve(ROOT, "bench/wrk");
/** wrk connections per round: 20, or BENCH_CONNECTIONS (issue 22 states its write target at 16). */
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);

export type Method = "GET" | "POST" | "PUT";

export interface Target {
  method: Method;
  /** Path and query, e.g. /api/notes?limit=100. */
  path: string;
  /** For POST: the person; for PUT: the person and the note. */
  ids?: number[];
  /** For GET: "{id}" in the path becomes an id drawn from 1..spread on every request. */
  spread?: number;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx answers and socket errors; a round with any is not a valid measurement. */
  errors: number;
}

export type LoadTool = "wrk" | "autocannon";

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const installed = (command: string) => succeeds("sh", ["-c", `command -v ${command}`]);

export function ensureLoadTool(log: (line: string) => void): LoadTool {
  if (installed("wrk")) return "wrk";
  log("wrk is missing: installing it with apt-get");
  succeeds("apt-get", ["install", "-y", "wrk"]);
  if (installed("wrk")) return "wrk";
  if (succeeds("npx", ["--no-install", "autocannon", "--version"])) {
    log("wrk could not be installed: using autocannon");
    return "autocannon";
  }
  throw new Error("neither wrk (apt-get install -y wrk) nor autocannon (npm i autocannon) is available");
}

const WRK_RESULT = /^WRK_RESULT (.*)$/m;

interface WrkReport {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  errors: Record<string, number>;
}

const WRK_SCRIPT: Record<Method, string> = { GET: "get.lua", POST: "post.lua", PUT: "put.lua" };

async function runWrk(baseUrl: string, target: Target, seconds: number, connections: number): Promise<LoadResult> {
  const spread = target.method === "GET" && target.spread !== undefined;
  const script = spread ? "get-spread.lua" : WRK_SCRIPT[target.method];
  const url = target.method === "GET" && !spread ? `${baseUrl}${target.path}` : baseUrl;
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url];
  if (spread) args.push("--", target.path, String(target.spread));
  else if (target.ids) args.push("--", ...target.ids.map(String));
  const { stdout } = await run("wrk", args, { cwd: WRK_SCRIPTS, timeout: (seconds + 30) * 1000 });
  const line = WRK_RESULT.exec(stdout)?.[1];
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const report = JSON.parse(line) as WrkReport;
  const errors = Object.values(report.errors).reduce((sum, n) => sum + n, 0);
  return {
    rps: report.requests / (report.duration_us / 1e6),
    p50Ms: report.p50_us / 1000,
    p99Ms: report.p99_us / 1000,
    requests: report.requests,
    errors,
  };
}

async function runAutocannon(
  baseUrl: string,
  target: Target,
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const args = ["--no-install", "autocannon", "-j", "-c", String(connections), "-d", String(seconds)];
  const [personId, noteId] = target.ids ?? [];
  // autocannon cannot draw ids from a range: a spread read asks for the middle one every time.
  let path =
    target.spread === undefined ? target.path : target.path.replace("{id}", String(Math.ceil(target.spread / 2)));
  if (target.method !== "GET") {
    path = target.method === "POST" ? `/api/people/${personId}/notes` : `/api/people/${personId}/notes/${noteId}`;
    // [<id>] becomes a fresh random id on every request, so every PUT is a real change.
    const body = JSON.stringify({ content: "Benchmark note [<id>], written to measure writing notes." });
    args.push("-m", target.method, "-H", "content-type=application/json", "-b", body, "-I");
  }
  args.push(`${baseUrl}${path}`);
  const { stdout } = await run("npx", args, { cwd: ROOT, timeout: (seconds + 60) * 1000 });
  const report = JSON.parse(stdout) as {
    requests: { total: number };
    duration: number;
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return {
    rps: report.requests.total / report.duration,
    p50Ms: report.latency.p50,
    p99Ms: report.latency.p99,
    requests: report.requests.total,
    errors: report.non2xx + report.errors + report.timeouts,
  };
}

export function load(
  tool: LoadTool,
  baseUrl: string,
  target: Target,
  seconds: number,
  connections = CONNECTIONS,
): Promise<LoadResult> {
  return tool === "wrk"
    ? runWrk(baseUrl, target, seconds, connections)
    : runAutocannon(baseUrl, target, seconds, connections);
}

export function loadToolVersion(tool: LoadTool): string {
  if (tool === "autocannon") return `autocannon ${execFileSync("npx", ["--no-install", "autocannon", "--version"])}`;
  try {
    execFileSync("wrk", ["-v"], { encoding: "utf8" });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? "");
    return /wrk [^\s]+/.exec(output)?.[0] ?? "wrk";
  }
  return "wrk";
}
