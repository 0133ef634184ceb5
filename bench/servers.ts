/** Starting, watching and stopping the two servers under test. */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const HOST = "127.0.0.1";
/**
 * The service's own default level: every request is logged (one line when it completes).
 * BENCH_LOG_LEVEL=silent measures it without request logs, to see what the logging costs.
 */
export const SERVICE_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "info";

export interface RunningServer {
  name: string;
  url: string;
  process: ChildProcess;
  /** Milliseconds from spawn to the first answered request. */
  startupMs: number;
  /** What the server has written to stderr so far. */
  stderr(): string;
}

export interface ServerSpec {
  name: string;
  port: number;
  command: string[];
  env: Record<string, string>;
}

/**
 * Which build of the service runs: this checkout's, or another checkout's (built) when
 * BENCH_SERVICE_ROOT names one, to measure an older version against the same baseline.
 */
export const SERVICE_ROOT = resolve(process.env.BENCH_SERVICE_ROOT ?? ROOT);

/** The service as production runs it: compiled, with its default log level; logs go to /dev/null. */
export function serviceSpec(port: number, databaseUrl: string, extraNodeArgs: string[] = []): ServerSpec {
  return {
    name: "service",
    port,
    command: [process.execPath, ...extraNodeArgs, join(SERVICE_ROOT, "dist/server.js")],
    // wrk's thousands of writes a second from one address would meet the write limit at once.
    env: {
      PORT: String(port),
      HOST,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: SERVICE_LOG_LEVEL,
      RATE_LIMIT_WRITES_PER_MINUTE: "0",
    },
  };
}

export function baselineSpec(port: number, databasePath: string): ServerSpec {
  return {
    name: "baseline",
    port,
    command: [process.execPath, "--import", "tsx", "bench/baseline.ts"],
    env: { PORT: String(port), HOST, DATABASE_PATH: databasePath },
  };
}

const STARTUP_TIMEOUT_MS = 30_000;
const POLL_MS = 5;

/** The path polled to tell that a server answers: a real API read, not a health check. */
const PROBE_PATH = "/api/people/1";

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const [command = "", ...args] = spec.command;
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env };
  // A server started from a run under c8 would collect coverage too, which costs it CPU.
  delete env.NODE_V8_COVERAGE;
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    stdio: ["ignore", openSync("/dev/null", "w"), "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://${HOST}:${spec.port}`;
  while (performance.now() - started < STARTUP_TIMEOUT_MS) {
    if (child.exitCode !== null) break;
    if (await answers(`${url}${PROBE_PATH}`)) {
      return { name: spec.name, url, process: child, startupMs: performance.now() - started, stderr: () => stderr };
    }
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
  child.kill("SIGKILL");
  throw new Error(`${spec.name} did not start on ${url}:\n${stderr}`);
}

export async function stopServer(server: RunningServer): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process in MB, from /proc. */
export function residentMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time a process has used so far (all its threads, user and system), in seconds. Unlike
 * req/s, CPU per request hardly moves when other work shares the machine.
 */
export function cpuSeconds(server: RunningServer): number {
  const { pid, exitCode, signalCode } = server.process;
  if (exitCode !== null || signalCode !== null) {
    throw new Error(`${server.name} stopped (exit ${exitCode ?? signalCode}):\n${server.stderr()}`);
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time a process's threads have run so far, in seconds, to the nanosecond (the scheduler's own
 * count, /proc/<pid>/task/<tid>/schedstat) where /proc/<pid>/stat counts 10 ms ticks: a short
 * measurement needs the precision. Threads that have ended are not counted: for a server's threads,
 * which live as long as it does.
 */
export function threadCpuSeconds(server: RunningServer): number {
  cpuSeconds(server); // throws, with its stderr, when the server has stopped
  const tasks = `/proc/${server.process.pid}/task`;
  let nanoseconds = 0;
  for (const tid of readdirSync(tasks)) {
    try {
      nanoseconds += Number(readFileSync(`${tasks}/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return nanoseconds / 1e9;
}

/** Samples the peak resident memory of some processes while it runs. */
export class PeakMemory {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  watch(servers: () => RunningServer[], everyMs = 250): void {
    this.timer = setInterval(() => {
      for (const server of servers()) {
        const mb = residentMb(server.process.pid);
        if (mb !== undefined && mb > (this.peaks.get(server.name) ?? 0)) this.peaks.set(server.name, mb);
      }
    }, everyMs);
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    return Object.fromEntries(this.peaks);
  }
}
