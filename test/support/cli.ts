import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { after } from "node:test";
import { TEST_DATABASE_ENV } from "./limits.js";
import { createSchema, type TestSchema } from "./postgres.js";

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

/** A stream that keeps what is written to it, as a pipe to a test would (not a terminal). */
class Kept extends Writable {
  readonly isTTY = false;
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
    done();
  }
}

/**
 * Runs a command in this process, with its own standard output, standard error and environment
 * (`env` added to the test's, as `runCli` does), and returns what `runCli` would: the same code
 * runs as in the built CLI, without the half second of CPU a process takes to load it. Tests about
 * the process itself (its exit, its signals, what it prints before a command is chosen) use `runCli`.
 */
export async function runCommand(args: string[], { env = {} }: { env?: Record<string, string> } = {}): Promise<CliRun> {
  const [{ runCommandLine }, { withIo }] = await Promise.all([
    import("../../src/cli/main.js"),
    import("../../src/cli/io.js"),
  ]);
  const stdout = new Kept();
  const stderr = new Kept();
  const code = await withIo({ stdout, stderr, env: { ...process.env, ...TEST_DATABASE_ENV, ...env } }, () =>
    runCommandLine(args),
  );
  return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
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
