import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";
import { createSchema, type TestSchema } from "./app.js";
import { TEST_DATABASE_ENV } from "./limits.js";

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
      env: { ...process.env, ...TEST_DATABASE_ENV, ...env },
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

/**
 * Databases for a CLI test file, each new: a SQLite file in a folder of the file's own, or a
 * PostgreSQL schema of its own; all removed when the file's tests end.
 */
export function cliDatabases(name: string): (engine: "sqlite" | "postgres") => Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `people-notes-${name}-cli-`));
  const schemas: TestSchema[] = [];
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(schemas.map((schema) => schema.drop()));
  });
  let databases = 0;
  return async (engine) => {
    if (engine === "sqlite") return `sqlite:${join(dir, `${name}-${++databases}.db`)}`;
    const schema = await createSchema(`cli_${name}`);
    schemas.push(schema);
    return schema.url;
  };
}
