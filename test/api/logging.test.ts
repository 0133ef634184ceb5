import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { TurnBatchedDestination } from "../../src/http/log-destination.js";
import { createDatabase, type TestDatabase } from "../support/app.js";

/** Records what reaches the output: one entry per write call. */
class RecordingSink {
  writes: string[] = [];
  write(text: string): void {
    this.writes.push(text);
  }
  lines(): Record<string, unknown>[] {
    return this.writes
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
  }
}

describe("log destination", () => {
  test("lines logged in one turn of the event loop are written together, in order, after it", async () => {
    const sink = new RecordingSink();
    const destination = new TurnBatchedDestination(sink);
    destination.write("one\n");
    destination.write("two\n");
    destination.write("three\n");
    assert.deepEqual(sink.writes, [], "nothing is written while the turn runs");
    await nextTurn();
    assert.deepEqual(sink.writes, ["one\ntwo\nthree\n"]);
    destination.write("four\n");
    await nextTurn();
    assert.deepEqual(sink.writes, ["one\ntwo\nthree\n", "four\n"]);
  });

  test("flush writes what is pending at once, and nothing twice", async () => {
    const sink = new RecordingSink();
    const destination = new TurnBatchedDestination(sink);
    destination.write("last words\n");
    destination.flushSync();
    assert.deepEqual(sink.writes, ["last words\n"]);
    await nextTurn();
    destination.flush();
    assert.deepEqual(sink.writes, ["last words\n"]);
  });

  test("pino's flush(done) writes what is pending, then calls done", async () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink));
    logger.info("pending");
    let called = false;
    logger.flush(() => {
      called = true;
    });
    assert.equal(called, true);
    assert.equal(sink.lines()[0]?.msg, "pending");
  });

  test("a fatal line is written at once, with what was pending before it", () => {
    const sink = new RecordingSink();
    const logger = pino({ base: null }, new TurnBatchedDestination(sink));
    logger.info("before");
    logger.fatal("the end");
    assert.deepEqual(
      sink.lines().map((line) => line.msg),
      ["before", "the end"],
    );
  });

  test("lines still pending when the process exits are written", () => {
    const module = pathToFileURL(join(import.meta.dirname, "../../src/http/log-destination.ts")).href;
    const script = `import { stdoutDestination } from ${JSON.stringify(module)};
      const out = stdoutDestination({ shared: false });
      out.write("first\\n");
      out.write("last\\n");
      process.exit(0);`;
    const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    assert.equal(output.toString(), "first\nlast\n");
  });
});

describe("request log", () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const sink = new RecordingSink();

  before(async () => {
    database = await createDatabase("sqlite");
    await prepareDatabase(database.store);
    app = await buildApp({
      store: database.store,
      logger: { level: "info", stream: new TurnBatchedDestination(sink) },
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await database.destroy();
  });

  const linesOf = async (requestId: string) => {
    await nextTurn();
    return sink.lines().filter((line) => line.reqId === requestId);
  };

  test("a request is logged once, when it completes, with its id, route, status and time", async () => {
    const response = await app.inject({ url: "/api/people/1/notes/1", headers: { "x-request-id": "read-1" } });
    assert.equal(response.statusCode, 200);
    const lines = await linesOf("read-1");
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const [line] = lines;
    assert.equal(line?.msg, "request completed");
    assert.equal(line?.level, 30);
    assert.equal(line?.method, "GET");
    assert.equal(line?.url, "/api/people/1/notes/1");
    assert.equal(line?.statusCode, 200);
    assert.equal(typeof line?.responseTime, "number");
    assert.equal(typeof line?.host, "string");
    assert.equal(typeof line?.remoteAddress, "string");
    assert.equal(typeof line?.time, "number");
  });

  test("an answered error is logged with its status", async () => {
    await app.inject({ url: "/api/people/999", headers: { "x-request-id": "missing-1" } });
    const [line] = await linesOf("missing-1");
    assert.equal(line?.statusCode, 404);
    assert.equal(line?.msg, "request completed");
  });

  test("health checks are not logged while they succeed", async () => {
    await app.inject({ url: "/healthz", headers: { "x-request-id": "health-1" } });
    assert.deepEqual(await linesOf("health-1"), []);
  });
});
