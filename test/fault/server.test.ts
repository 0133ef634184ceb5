import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { openStore } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { eventually } from "../support/eventually.js";
import { POSTGRES_URL } from "../support/postgres.js";
import {
  connectionRefused,
  RawConnection,
  type RawResponse,
  rawRequest,
  requestHead,
  runToExit,
  startServer,
  startUpload,
  within,
} from "../support/server-process.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-fault-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** A database file that does not exist yet, in a folder of its own that does. */
function freshDatabase(): string {
  const folder = join(dir, `run-${++counter}`);
  mkdirSync(folder);
  return join(folder, "people.db");
}

async function json(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

const postNote = (url: string, content: string) =>
  fetch(`${url}/api/people/1/notes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });

describe("start-up", () => {
  test("a missing database is created, migrated and seeded once", async () => {
    const path = freshDatabase();
    const first = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const people = await json(`${first.url}/api/people`);
    assert.deepEqual(
      people.body.map((p: { lname: string }) => p.lname),
      ["Brockman", "Easter", "Farrell"],
    );
    const created = await json(`${first.url}/api/people`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fname: "Homer", lname: "Simpson" }),
    });
    assert.equal(created.status, 201);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);

    const second = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const again = await json(`${second.url}/api/people`);
    assert.equal(again.body.length, 4, "a restart keeps the data and does not seed again");
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
  });

  for (const [name, env, message] of [
    ["PORT", { PORT: "http" }, /PORT must be a whole number/],
    ["DATABASE_URL", { DATABASE_URL: "mysql://localhost/x" }, /DATABASE_URL must start with sqlite: or postgres:\/\//],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
  ] as const) {
    test(`an invalid ${name} stops start-up with a clear message`, async () => {
      const { code, output } = await runToExit({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...env });
      assert.equal(code, 1);
      assert.match(output, message);
    });
  }

  test("request logs are JSON lines carrying the request id", async () => {
    const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, LOG_LEVEL: "info" });
    const response = await fetch(`${server.url}/api/people/1`, { headers: { "x-request-id": "trace-42" } });
    assert.equal(response.headers.get("x-request-id"), "trace-42");
    server.child.kill("SIGTERM");
    await server.exited;
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
    const completed = lines.find((line) => line.reqId === "trace-42" && line.msg === "request completed");
    assert.ok(completed, "the completed request is logged with its id");
    assert.equal(completed.statusCode, 200);
    assert.equal(completed.url, "/api/people/1");
    const stopped = lines.findIndex((line) => line.msg === "stopped cleanly");
    assert.ok(stopped > lines.indexOf(completed), "every line is written, the last one included, before the exit");
  });
});

const SHUTDOWN_DELAY_MS = 1_000;
const SHUTDOWN_TIMEOUT_MS = 2_500;
const SHUTDOWN = { SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
/** Long enough for the server to handle the signal it was just sent. */
const SIGNAL_HANDLED_MS = 200;

/** A server with shutdown delays, and a keep-alive connection to it that has had one answer. */
async function answeredKeepAlive(t: TestContext) {
  const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...SHUTDOWN });
  t.after(() => server.kill());
  const connection = await RawConnection.open(server.url);
  connection.send(requestHead("GET", "/healthz"));
  assert.equal((await connection.next()).status, 200);
  return { server, connection };
}

/** Polls /readyz until its first 503, for as long as SIGNAL_HANDLED_MS; every probe must be answered. */
async function readinessAfterSignal(url: string): Promise<RawResponse> {
  const deadline = Date.now() + SIGNAL_HANDLED_MS;
  let ready = await rawRequest(url, "GET", "/readyz");
  for (let probe = 0; probe < 100 && ready.status === 200 && Date.now() < deadline; probe++) {
    await sleep(5);
    ready = await rawRequest(url, "GET", "/readyz");
  }
  return ready;
}

async function outcome(request: Promise<RawResponse>): Promise<string> {
  try {
    return String((await request).status);
  } catch (error) {
    return (error as Error).message;
  }
}

describe("shutdown", () => {
  test("a request in flight at SIGTERM is answered after the listener closes, and its write is kept", async (t) => {
    const path = freshDatabase();
    const server = await startServer({ DATABASE_URL: `sqlite:${path}`, ...SHUTDOWN });
    t.after(() => server.kill());
    const body = JSON.stringify({ content: "written across the shutdown" });
    const upload = await startUpload(server.url, body, 10);

    server.child.kill("SIGTERM");
    await eventually(() => connectionRefused(server.url), Boolean, "the listener closed once the delay has passed");
    upload.send(body.slice(10));

    const response = await upload.next();
    assert.equal(response.status, 201, response.body);
    assert.equal(response.headers.connection, "close");
    const noteId = JSON.parse(response.body).note_id;
    assert.equal(await within(server.exited, 5_000, "the exit"), 0);
    assert.equal(existsSync(`${path}-wal`), false, "closing the database checkpoints and removes the WAL");

    // The write is in the database file (that a restarted server reads its data is the first test's).
    const database = new BetterSqlite3(path, { readonly: true });
    try {
      const note = database.prepare("select content from note where note_id = ?").get(noteId) as
        | { content: string }
        | undefined;
      assert.equal(note?.content, "written across the shutdown");
    } finally {
      database.close();
    }
  });

  test("requests sent just before SIGTERM all get an answer, none a reset", async (t) => {
    const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...SHUTDOWN });
    t.after(() => server.kill());
    const requests = Array.from({ length: 50 }, () => outcome(rawRequest(server.url, "GET", "/api/people/1")));
    await sleep(3);
    server.child.kill("SIGTERM");

    const tally: Record<string, number> = {};
    for (const result of await Promise.all(requests)) tally[result] = (tally[result] ?? 0) + 1;
    const failed = Object.keys(tally).filter((result) => result !== "200" && result !== "503");
    assert.deepEqual(failed, [], `every request is answered 200 or 503 (got ${JSON.stringify(tally)})`);
    assert.equal(await within(server.exited, 5_000, "the exit"), 0);
  });

  test("a request on an idle keep-alive connection right after SIGTERM is served, with Connection: close", async (t) => {
    const { server, connection } = await answeredKeepAlive(t);

    server.child.kill("SIGTERM");
    // The server has handled the signal once its readiness says so (on connections of their own).
    await eventually(
      async () => (await rawRequest(server.url, "GET", "/readyz")).status,
      (status) => status === 503,
      "readiness turning 503",
    );
    connection.send(requestHead("GET", "/api/people/1"));
    const response = await connection.next();
    assert.equal(response.status, 200, response.body);
    assert.equal(response.headers.connection, "close");
    await within(connection.closed, 2_000, "the server closing the connection after its answer");
    assert.equal(await within(server.exited, 5_000, "the exit"), 0);
  });

  test("a request whose head completes after the listener closed is refused with a problem+json 503", async (t) => {
    const { server, connection } = await answeredKeepAlive(t);
    // A balancer reusing its connection as the drain ends: the request has begun, so closing the
    // idle connections spares it, but it reaches the routes only once the server is closing.
    const head = requestHead("GET", "/api/people/1");
    connection.send(head.slice(0, 10));

    server.child.kill("SIGTERM");
    await eventually(() => connectionRefused(server.url), Boolean, "the listener closed once the delay has passed");
    connection.send(head.slice(10));
    const response = await connection.next();
    assert.equal(response.status, 503, response.body);
    assert.match(response.headers["content-type"] ?? "", /^application\/problem\+json/);
    assert.equal(response.headers.connection, "close");
    assert.equal(response.headers["retry-after"], "1");
    const body = JSON.parse(response.body);
    assert.equal(body.status, 503);
    assert.equal(body.title, "Service Unavailable");
    assert.match(body.detail, /shutting down/);
    await within(connection.closed, 2_000, "the server closing the connection after its answer");
    assert.equal(await within(server.exited, 5_000, "the exit"), 0);
  });

  test("/readyz answers 503 right after SIGTERM, while requests are still served", async (t) => {
    const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...SHUTDOWN });
    t.after(() => server.kill());
    server.child.kill("SIGTERM");

    const ready = await readinessAfterSignal(server.url);
    assert.equal(ready.status, 503, `/readyz turns 503 at once: ${ready.status} ${ready.body}`);
    assert.match(ready.headers["content-type"] ?? "", /^application\/problem\+json/);
    assert.equal(ready.headers.connection, "close");
    const person = await rawRequest(server.url, "GET", "/api/people/1");
    assert.equal(person.status, 200, person.body);
    assert.equal(person.headers.connection, "close");
    assert.equal(await within(server.exited, 5_000, "the exit"), 0);
  });

  test("a stalled upload and a stalled head are cut by their own timeouts during the drain, and the process exits 0", async (t) => {
    // Long enough that the listener has closed (and Node's own checks have stopped) before it passes.
    const REQUEST_TIMEOUT_MS = 4_000;
    const server = await startServer({
      DATABASE_URL: `sqlite:${freshDatabase()}`,
      SHUTDOWN_DELAY_MS: "100",
      // Far beyond the request timeout: only the request timeout may end these.
      SHUTDOWN_TIMEOUT_MS: "30000",
      HEADERS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    t.after(() => server.kill());
    const upload = await startUpload(server.url, JSON.stringify({ content: "never finished" }), 5);
    const head = await RawConnection.open(server.url);
    t.after(() => head.close());
    head.send("GET /api/people/1 HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    // The head's first bytes have reached the server once an answer sent after them has come back.
    assert.equal((await rawRequest(server.url, "GET", "/healthz")).status, 200);

    server.child.kill("SIGTERM");
    await within(upload.closed, REQUEST_TIMEOUT_MS + 5_000, "the stalled upload being cut");
    assert.equal((await upload.next(0).catch(() => undefined))?.status, 408, "the upload is answered 408");
    await within(head.closed, REQUEST_TIMEOUT_MS + 5_000, "the stalled head being cut");
    assert.equal((await head.next(0).catch(() => undefined))?.status, 408, "the head is answered 408");
    assert.equal(await within(server.exited, 5_000, "the exit"), 0, server.output());
  });

  test("a stalled upload whose request timeout lies beyond the drain deadline is cut at SHUTDOWN_TIMEOUT_MS and the process exits 1", async (t) => {
    const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...SHUTDOWN });
    t.after(() => server.kill());
    const upload = await startUpload(server.url, JSON.stringify({ content: "never finished" }), 5);

    const signalled = Date.now();
    server.child.kill("SIGTERM");
    await within(upload.closed, SHUTDOWN_TIMEOUT_MS + 2_000, "the stalled upload being cut");
    const cutAfter = Date.now() - signalled;
    assert.ok(cutAfter >= SHUTDOWN_TIMEOUT_MS - 200, `cut at the deadline, not before (after ${cutAfter} ms)`);
    assert.equal(await within(server.exited, 3_000, "the exit after the cut"), 1);
  });
});

describe("crashes", () => {
  // A killed process leaves its writes in the OS page cache, so this cannot show that commits reach
  // the disk; test/db/sqlite.test.ts checks synchronous=FULL for that.
  test("a crashed process (SIGKILL) loses no acknowledged write", async () => {
    const path = freshDatabase();
    const server = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await postNote(server.url, `before the crash ${i}`);
      assert.equal(response.status, 201);
      ids.push((await response.json()).note_id);
    }
    server.child.kill("SIGKILL");
    await server.exited;

    const restarted = await startServer({ DATABASE_URL: `sqlite:${path}` });
    for (const noteId of ids) {
      assert.equal((await fetch(`${restarted.url}/api/people/1/notes/${noteId}`)).status, 200);
    }
    restarted.child.kill("SIGTERM");
    await restarted.exited;
  });
});

describe("many processes on one PostgreSQL database", () => {
  test("processes started together on a new database all serve the one seeded data set", async () => {
    const url = POSTGRES_URL;
    const schema = `fault_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    try {
      const servers = await Promise.all([1, 2, 3].map(() => startServer({ DATABASE_URL: `${url}?schema=${schema}` })));
      for (const server of servers) {
        const people = await json(`${server.url}/api/people`);
        assert.equal(people.body.length, 3);
      }
      const notes = await admin.query(`select count(*)::int as n from ${schema}.note`);
      assert.equal(notes.rows[0].n, 7);
      for (const server of servers) server.child.kill("SIGTERM");
      assert.deepEqual(await Promise.all(servers.map((server) => server.exited)), [0, 0, 0]);
    } finally {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });

  test("start-ups racing on a new database seed it once; the others carry on", async () => {
    const url = POSTGRES_URL;
    const schema = `race_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const stores = [1, 2, 3].map(() => openStore({ engine: "postgres", url, schema }));
    try {
      const results = await Promise.all(stores.map((store) => prepareDatabase(store)));
      assert.deepEqual(results.map((result) => result.seeded).sort(), [false, false, true]);
      const people = await admin.query(`select count(*)::int as n from ${schema}.person`);
      assert.equal(people.rows[0].n, 3);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });
});
