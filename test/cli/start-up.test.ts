import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type CliRun, lines, runCli } from "../support/cli.js";
import { START_LIMIT_MS } from "../support/limits.js";
import { freePort } from "../support/server-process.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-start-up-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let databases = 0;
const sqliteUrl = () => `sqlite:${join(dir, `start-up-${++databases}.db`)}`;

/** Each run here must end by itself well within this; one still running is killed and fails. */
const RUN_MS = START_LIMIT_MS;

/** The server as `npm start` runs it (dist/server.js). */
const runServer = (env: Record<string, string>) =>
  runCli([], { entry: "dist/server.js", env: { LOG_LEVEL: "warn", HOST: "127.0.0.1", ...env }, timeoutMs: RUN_MS });

const command = (args: string[], env: Record<string, string>) => runCli(args, { env, timeoutMs: RUN_MS });

/** Exit code 1 and exactly one line on standard error, matching `message`. */
function assertOneLine(run: CliRun, message: RegExp): void {
  assert.equal(run.signal, null, `still running after ${RUN_MS} ms:\n${run.stderr}`);
  assert.equal(run.code, 1, run.stderr);
  assert.deepEqual(lines(run.stderr).length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines(run.stderr)[0] ?? "", message);
}

/** The same failure at LOG_LEVEL=debug: the line first, then the stack. */
function assertLineThenStack(run: CliRun, message: RegExp): void {
  assert.equal(run.signal, null, `still running after ${RUN_MS} ms:\n${run.stderr}`);
  assert.equal(run.code, 1, run.stderr);
  assert.match(lines(run.stderr)[0] ?? "", message);
  assert.match(run.stderr, /^\s+at .+/m, `a stack at LOG_LEVEL=debug:\n${run.stderr}`);
}

/** A port something else listens on for the length of `work`. */
async function withTakenPort<T>(work: (port: number) => Promise<T>): Promise<T> {
  const taken = createServer();
  const port = await freePort();
  await new Promise<void>((listening) => taken.listen(port, "127.0.0.1", listening));
  try {
    return await work(port);
  } finally {
    await new Promise((closed) => taken.close(closed));
  }
}

/** A PostgreSQL URL nobody answers at (a free port), with a password that must never be printed. */
async function unreachablePostgres(): Promise<{ url: string; port: number }> {
  const port = await freePort();
  return { url: `postgres://postgres:s3cret-pw@127.0.0.1:${port}/test`, port };
}

describe("start-up failures are one line", () => {
  test("a port in use: what, where and what to do, exit 1; the stack only at LOG_LEVEL=debug", () =>
    withTakenPort(async (port) => {
      const message = new RegExp(
        `^people-notes: cannot listen on 127\\.0\\.0\\.1:${port}: another process is using that port; .*PORT=`,
      );
      assertOneLine(await runServer({ PORT: String(port), DATABASE_URL: sqliteUrl() }), message);
      assertLineThenStack(
        await runServer({ PORT: String(port), DATABASE_URL: sqliteUrl(), LOG_LEVEL: "debug" }),
        message,
      );
      assertOneLine(
        await command(["serve"], { PORT: String(port), DATABASE_URL: sqliteUrl(), LOG_LEVEL: "warn" }),
        message,
      );
    }));

  test("an unreachable PostgreSQL: where (without the password) and what to do, exit 1", async () => {
    const { url, port } = await unreachablePostgres();
    const message = new RegExp(
      `^people-notes: cannot reach the database at postgres://postgres@127\\.0\\.0\\.1:${port}/test \\(.*ECONNREFUSED.*\\): .*DATABASE_URL`,
    );
    const run = await runServer({ PORT: String(await freePort()), DATABASE_URL: url });
    assertOneLine(run, message);
    assert.doesNotMatch(run.stderr + run.stdout, /s3cret-pw/);
    const debug = await runServer({ PORT: String(await freePort()), DATABASE_URL: url, LOG_LEVEL: "debug" });
    assertLineThenStack(debug, message);
    assert.doesNotMatch(debug.stderr + debug.stdout, /s3cret-pw/);
  });

  test("commands against an unreachable database say so in the same one line", async () => {
    const { url, port } = await unreachablePostgres();
    const message = new RegExp(
      `^people-notes: cannot reach the database at postgres://postgres@127\\.0\\.0\\.1:${port}/test \\(.*ECONNREFUSED.*\\): .*DATABASE_URL`,
    );
    for (const args of [
      ["token", "list"],
      ["token", "create", "--admin", "--name", "ops"],
      ["db", "migrate"],
      ["export"],
    ]) {
      const run = await command(args, { DATABASE_URL: url, LOG_LEVEL: "warn" });
      assertOneLine(run, message);
      assert.equal(run.stdout, "", args.join(" "));
      assert.doesNotMatch(run.stderr, /s3cret-pw/);
    }
    assertLineThenStack(await command(["token", "list"], { DATABASE_URL: url, LOG_LEVEL: "debug" }), message);
  });

  test("a malformed import file: its one line, no progress before it", async () => {
    const file = join(dir, "malformed.ndjson");
    writeFileSync(file, '{"type":"export","format_version":1}\n{"type":"person",\n');
    const run = await command(["import", file], { DATABASE_URL: sqliteUrl(), LOG_LEVEL: "warn" });
    assertOneLine(run, /malformed\.ndjson line 2: is not valid JSON\b.*; nothing was imported$/);
  });
});

describe("DATABASE_URL naming a folder that does not exist", () => {
  test("is refused in one line, and no folder is made", async () => {
    const missing = join(dir, "no-such-folder", "deeper");
    const url = `sqlite:${join(missing, "people.db")}`;
    const message = new RegExp(
      `^people-notes: DATABASE_URL names ${join(missing, "people.db")}, but the folder ${missing} does not exist`,
    );
    assertOneLine(await runServer({ PORT: String(await freePort()), DATABASE_URL: url }), message);
    assertOneLine(await command(["token", "list"], { DATABASE_URL: url, LOG_LEVEL: "warn" }), message);
    assert.equal(existsSync(join(dir, "no-such-folder")), false, "nothing was created");
  });
});

describe("a tracing setting the server cannot use", () => {
  test("is refused in one line before anything starts", async () => {
    const run = await runServer({
      PORT: String(await freePort()),
      DATABASE_URL: sqliteUrl(),
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_TRACES_SAMPLER: "sometimes",
    });
    assertOneLine(
      run,
      /^people-notes: OTEL_TRACES_SAMPLER must be one of always_on, always_off, .* \(got "sometimes"\)$/,
    );
    assertOneLine(
      await runServer({
        PORT: String(await freePort()),
        DATABASE_URL: sqliteUrl(),
        OTEL_EXPORTER_OTLP_ENDPOINT: "4318",
      }),
      /^people-notes: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL of an OTLP collector \(got "4318"\)$/,
    );
  });
});

describe("a webhook setting the server cannot use", () => {
  test("is refused in one line before anything starts", async () => {
    const url = sqliteUrl();
    assertOneLine(
      await runServer({ PORT: String(await freePort()), DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE: "yes" }),
      /^people-notes: WEBHOOK_ALLOW_PRIVATE must be true or false \(got "yes"\)$/,
    );
    assertOneLine(
      await runServer({
        PORT: String(await freePort()),
        DATABASE_URL: url,
        WEBHOOK_TIMEOUT_MS: "2000",
        WEBHOOK_CONNECT_TIMEOUT_MS: "5000",
      }),
      /^people-notes: WEBHOOK_CONNECT_TIMEOUT_MS must be a whole number from 1 to 2000 \(got "5000"\)$/,
    );
    assert.equal(existsSync(url.slice("sqlite:".length)), false, "no database was made");
  });
});

describe("a TRUST_PROXY that would believe anyone", () => {
  test("is refused in one line before anything starts", async () => {
    const run = await runServer({ PORT: String(await freePort()), DATABASE_URL: sqliteUrl(), TRUST_PROXY: "true" });
    assertOneLine(
      run,
      /^people-notes: TRUST_PROXY must be off or a comma-separated list of the proxies' addresses or CIDR ranges, .*: trusting every peer would let any client name its own address \(got "true"\)$/,
    );
  });
});
