import { spawn } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  watch?: (stderr: string, kill: () => void) => void;
  /** The built entry point to run; dist/cli.js unless said (dist/server.js is the server). */
  entry?: string;
  /** Killed (SIGKILL) if still running after this long, so a run that should stop never hangs a test. */
  timeoutMs?: number;
}

/**
 * Runs the built CLI (or another built entry) with `env` added to the test's environment. `watch`
 * sees standard error as it comes and may kill the process.
 */
export function runCli(
  args: string[],
  { env = {}, watch, entry = "dist/cli.js", timeoutMs }: CliOptions = {},
): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      watch?.(stderr, () => child.kill("SIGKILL"));
    });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** The non-blank lines of a command's output. */
export const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");
