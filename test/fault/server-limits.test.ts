import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep, setImmediate as yieldToTheLoop } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import { openStore } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { SHED_RETRY_AFTER_SECONDS } from "../../src/http/server-limits.js";
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from "../../src/http/settings.js";
import { createDatabase, type TestDatabase } from "../support/app.js";
import {
  noteUpload,
  RawConnection,
  type RawResponse,
  type RunningServer,
  rawRequest,
  requestHead,
  type SpawnOptions,
  startServer,
  within,
} from "../support/server-process.js";

/** A limit of a second or less, checked every second, has cut its connection by then. */
const CUT_WITHIN_MS = 4_000;

let database: TestDatabase;
before(async () => {
  database = await createDatabase("sqlite");
  await prepareDatabase(database.store);
});
after(() => database.destroy());

/** The app listening on a port of its own with these limits; closed, with every connection, after the test. */
async function listening(
  t: TestContext,
  limits: Partial<ServerLimits>,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({ store: database.store, serverLimits: { ...DEFAULT_SERVER_LIMITS, ...limits } });
  t.after(async () => {
    app.server.closeAllConnections();
    await app.close();
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

async function opened(t: TestContext, url: string): Promise<RawConnection> {
  const connection = await RawConnection.open(url);
  t.after(() => connection.close());
  return connection;
}

/** The response the server sent before closing the connection, if any. */
async function lastWords(connection: RawConnection): Promise<RawResponse | undefined> {
  return connection.next(0).catch(() => undefined);
}

describe("connection timeouts", () => {
  test("a client sending its headers a byte at a time is cut off at the headers timeout", async (t) => {
    const { url } = await listening(t, { headersTimeoutMs: 500, requestTimeoutMs: 10_000 });
    const slowloris = await opened(t, url);
    slowloris.send("GET /api/people HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ");
    // It never stops sending, so only a deadline on the whole head can cut it, not an idle timer.
    for (let byte = 0; byte < CUT_WITHIN_MS / 100 && !slowloris.closeReason; byte++) {
      slowloris.send("a");
      await sleep(100);
    }
    assert.ok(slowloris.closeReason, `the connection is still open after ${CUT_WITHIN_MS} ms`);
    // Its next byte may reach the closed socket before the 408 is read, and reset the connection.
    const answer = await lastWords(slowloris);
    if (answer) assert.equal(answer.status, 408);
  });

  test("an upload that stops after its first byte is answered 408 and closed at the request timeout", async (t) => {
    const { url } = await listening(t, { headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
    const upload = await opened(t, url);
    const head = requestHead("POST", "/api/people", { "content-type": "application/json", "content-length": 100 });
    upload.send(`${head}{`);
    await within(upload.closed, CUT_WITHIN_MS, "the stalled upload being cut");
    assert.equal((await lastWords(upload))?.status, 408);
  });
});

describe("connection cap", () => {
  test("with MAX_CONNECTIONS busy, one more is closed unanswered while the others are answered, and none is closed to make room", async (t) => {
    const { url } = await listening(t, { maxConnections: 3, keepAliveTimeoutMs: 30_000 });
    const body = JSON.stringify({ content: "held across the cap" });
    const uploads: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const upload = await opened(t, url);
      upload.send(noteUpload(body));
      assert.equal((await upload.next()).status, 100, "the server has the upload's head");
      uploads.push(upload);
    }

    const fourth = await opened(t, url);
    fourth.send(requestHead("GET", "/api/people/1"));
    await within(fourth.closed, CUT_WITHIN_MS, "the connection over the cap being closed");
    assert.equal(await lastWords(fourth), undefined, "the connection over the cap gets no answer");

    for (const upload of uploads) {
      upload.send(body);
      assert.equal((await upload.next()).status, 201, "an upload within the cap is still answered");
    }
    // Now they are idle, and the longest-idle one makes room.
    const later = await opened(t, url);
    later.send(requestHead("GET", "/api/people/1"));
    assert.equal((await later.next()).status, 200, "a new client is served once a connection is idle");
  });
});

describe("load shedding", () => {
  test("a lagging event loop gets requests a 503 with Retry-After, while /healthz keeps answering 200", async (t) => {
    const { url } = await listening(t, { shedEventLoopDelayMs: 50 });
    const deadline = Date.now() + 10_000;
    let lagging = true;
    // Turns of 150 ms, with a pause between them in which the requests below are served.
    const lag = (async () => {
      while (lagging && Date.now() < deadline) {
        const turnEnds = Date.now() + 150;
        while (Date.now() < turnEnds) {
          // busy
        }
        await yieldToTheLoop();
      }
    })();

    let shed: RawResponse | undefined;
    let healthWhileShedding: RawResponse | undefined;
    try {
      for (let round = 0; round < 50 && !shed && Date.now() < deadline; round++) {
        const [person, health] = await Promise.all([
          rawRequest(url, "GET", "/api/people/1"),
          rawRequest(url, "GET", "/healthz"),
        ]);
        if (person.status === 503) {
          shed = person;
          healthWhileShedding = health;
        } else {
          assert.equal(person.status, 200, person.body);
        }
      }
    } finally {
      lagging = false;
      await lag;
    }

    assert.ok(shed, "a request was shed while the event loop lagged");
    assert.match(shed.headers["content-type"] ?? "", /^application\/problem\+json/);
    assert.equal(shed.headers["retry-after"], String(SHED_RETRY_AFTER_SECONDS));
    assert.ok(shed.headers["x-request-id"], "a shed response carries the headers every response does");
    assert.deepEqual(JSON.parse(shed.body), {
      type: "about:blank",
      title: "Service Unavailable",
      status: 503,
      detail: "The server is overloaded; try again shortly",
    });
    assert.equal(healthWhileShedding?.status, 200, "/healthz is answered while other requests are shed");

    const health = await rawRequest(url, "GET", "/healthz");
    assert.equal(health.status, 200, "/healthz answers once the loop is free");
    let person = await rawRequest(url, "GET", "/api/people/1");
    for (let probe = 0; probe < 30 && person.status === 503; probe++) {
      await sleep(100);
      person = await rawRequest(url, "GET", "/api/people/1");
    }
    assert.equal(person.status, 200, "requests are served again once the loop is free");
  });
});

// The tests below run the server as a process of its own, as it is deployed.

const processDir = mkdtempSync(join(tmpdir(), "people-notes-limits-"));
after(() => rmSync(processDir, { recursive: true, force: true }));
let databases = 0;
const freshDatabasePath = () => join(processDir, `limits-${++databases}.db`);

/** The server as a process on a database of its own; killed after the test if it is still running. */
async function serverProcess(
  t: TestContext,
  env: Record<string, string>,
  options: SpawnOptions = {},
  databasePath = freshDatabasePath(),
): Promise<RunningServer> {
  const server = await startServer({ DATABASE_URL: `sqlite:${databasePath}`, ...env }, options);
  t.after(() => server.kill());
  return server;
}

/** A request on a connection of its own: its status, or undefined when the connection closed unanswered. */
async function answeredOnNewConnection(url: string, path = "/healthz"): Promise<number | undefined> {
  const connection = await RawConnection.open(url);
  try {
    connection.send(requestHead("GET", path));
    return (await connection.next()).status;
  } catch {
    return undefined;
  } finally {
    connection.close();
  }
}

/** The server's own clock, from a response's Date header (whole seconds). */
const serverTime = (response: RawResponse) => Date.parse(response.headers.date ?? "");

describe("out of file descriptors (server process)", () => {
  /** Descriptors the process may hold: enough to start (loading the modules takes a few hundred at once). */
  const DESCRIPTORS = 400;
  const STALLED_UPLOADS = 480;

  test("past the descriptor limit new connections are refused while open ones are served; no exit, and new clients are served once the load goes", async (t) => {
    const server = await serverProcess(
      t,
      { HEADERS_TIMEOUT_MS: "60000", REQUEST_TIMEOUT_MS: "60000", KEEP_ALIVE_TIMEOUT_MS: "60000" },
      { under: ["prlimit", `--nofile=${DESCRIPTORS}`] },
    );
    assert.match(server.output(), /MAX_CONNECTIONS \(1024\) .*descriptors? .*\(400\)/, "start-up warns");
    const kept = await opened(t, server.url);
    kept.send(requestHead("GET", "/api/people/1"));
    assert.equal((await kept.next()).status, 200);

    const { hostname, port } = new URL(server.url);
    const uploads: Socket[] = [];
    t.after(() => {
      for (const upload of uploads) upload.destroy();
    });
    const head = requestHead("POST", "/api/people", { "content-type": "application/json", "content-length": 100 });
    for (let i = 0; i < STALLED_UPLOADS; i++) {
      const upload = connect({ host: hostname, port: Number(port) });
      // Those past the limit are reset by the server; that is the refusal.
      upload.on("error", () => {});
      upload.write(`${head}{`);
      uploads.push(upload);
    }

    let refused = false;
    for (let probe = 0; probe < 50 && !refused; probe++) {
      refused = (await answeredOnNewConnection(server.url)) === undefined;
      if (!refused) await sleep(100);
    }
    assert.ok(refused, "a new connection is refused once the descriptors are gone");

    // The server samples its event loop every second: its own clock shows it has sampled while full.
    kept.send(requestHead("GET", "/api/people/1"));
    const first = await kept.next();
    assert.equal(first.status, 200, "an open connection is served while the descriptors are gone");
    let last = first;
    for (let round = 0; round < 100 && serverTime(last) - serverTime(first) < 3_000; round++) {
      await sleep(100);
      kept.send(requestHead("GET", "/api/people/1"));
      last = await kept.next();
      assert.equal(last.status, 200, `an open connection is still served (round ${round})`);
    }
    assert.ok(serverTime(last) - serverTime(first) >= 3_000, "served across several samples");
    assert.equal(await answeredOnNewConnection(server.url), undefined, "new connections are still refused");
    assert.equal(server.child.exitCode, null, `the server is running:\n${server.output()}`);

    for (const upload of uploads) upload.destroy();
    let health: number | undefined;
    for (let probe = 0; probe < 50 && health !== 200; probe++) {
      health = await answeredOnNewConnection(server.url);
      if (health !== 200) await sleep(100);
    }
    assert.equal(health, 200, "a new client is served once the stalled connections are gone");
    kept.send(requestHead("GET", "/api/people/1"));
    assert.equal((await kept.next()).status, 200);
    assert.doesNotMatch(server.output(), /uncaught error/);
    assert.equal(await server.stop(), 0);
  });
});

describe("idle connections at the cap (server process)", () => {
  test("a new client at MAX_CONNECTIONS closes the longest-idle keep-alive connection and is served", async (t) => {
    const server = await serverProcess(t, { MAX_CONNECTIONS: "4", KEEP_ALIVE_TIMEOUT_MS: "60000" });
    // Four of our own (with fetch's connection from start-up, one more than the cap: that one goes first).
    const idle: RawConnection[] = [];
    for (let i = 0; i < 4; i++) {
      const connection = await opened(t, server.url);
      connection.send(requestHead("GET", "/api/people/1"));
      assert.equal((await connection.next()).status, 200);
      idle.push(connection);
    }
    const [first, second, ...rest] = idle as [RawConnection, RawConnection, ...RawConnection[]];
    // The first is used again, so the second has been idle longest.
    first.send(requestHead("GET", "/api/people/2"));
    assert.equal((await first.next()).status, 200);

    const fresh = await opened(t, server.url);
    fresh.send(requestHead("GET", "/api/people/3"));
    assert.equal((await fresh.next()).status, 200, "the new client is served");
    await within(second.closed, CUT_WITHIN_MS, "the longest-idle connection being closed");
    assert.equal(await lastWords(second), undefined, "an idle connection is closed without a word");

    for (const connection of [first, ...rest, fresh]) {
      connection.send(requestHead("GET", "/api/people/1"));
      assert.equal((await connection.next()).status, 200, "the other connections are kept");
    }
    assert.equal(await server.stop(), 0);
  });
});

describe("clients reading too slowly (server process)", () => {
  const NOTES = 1_000;
  /** A page of every note: 10 MB, more than the kernel buffers on both sides of a loopback connection hold. */
  const NOTE_LENGTH = 10_000;

  async function databaseWithLongNotes(): Promise<string> {
    const path = freshDatabasePath();
    const store = openStore({ engine: "sqlite", path });
    try {
      await prepareDatabase(store);
      const rows = Array.from({ length: NOTES }, (_, i) => ({
        person_id: 1,
        content: `Long note ${i} ${"lorem ipsum ".repeat(NOTE_LENGTH / 12)}`,
        timestamp: new Date(Date.UTC(2022, 0, 1) + i * 1_000).toISOString(),
      }));
      await store.db.transaction().execute(async (tx) => {
        for (let start = 0; start < rows.length; start += 100) {
          await tx
            .insertInto("note")
            .values(rows.slice(start, start + 100))
            .execute();
        }
      });
    } finally {
      await store.close();
    }
    return path;
  }

  /** A GET on a raw socket that reads nothing until told to, and then everything. */
  async function unreadPage(t: TestContext, url: string, path: string) {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    t.after(() => socket.destroy());
    await once(socket, "connect");
    socket.pause();
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    // The server cuts the connection with a reset: whether the client reads it as an error (after
    // the bytes already queued) or as the end depends on when it reads, so either is the close.
    socket.on("error", () => {});
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.write(requestHead("GET", path));
    return {
      /** Reads from now on; resolves with the bytes read once the connection has closed. */
      async readToTheEnd(): Promise<number> {
        socket.resume();
        await within(closed, 10_000, "the cut connection closing");
        return received;
      },
    };
  }

  /** The connections the log says were cut for not taking their response. */
  const cutSoFar = (output: string) =>
    output
      .split("\n")
      .filter((line) => line.includes("too slowly"))
      .reduce((sum, line) => sum + Number(JSON.parse(line).closed ?? 0), 0);

  test("a client that does not take its response within SEND_TIMEOUT_MS is cut off; others are served in full", async (t) => {
    const path = await databaseWithLongNotes();
    // Long enough that the client that reads is never cut off for a few seconds without a turn on a
    // loaded machine (seen at load 29 with 2 s); the stalled one is cut all the same.
    const server = await serverProcess(t, { SEND_TIMEOUT_MS: "6000", KEEP_ALIVE_TIMEOUT_MS: "60000" }, {}, path);
    const page = `/api/notes?limit=${NOTES}`;

    const stalled = await unreadPage(t, server.url, page);
    let cut = 0;
    for (let probe = 0; probe < 200 && cut === 0; probe++) {
      await sleep(100);
      cut = cutSoFar(server.output());
    }
    assert.equal(cut, 1, `the server says it cut the client off:\n${server.output()}`);
    const received = await stalled.readToTheEnd();
    assert.ok(received < NOTES * NOTE_LENGTH, `the response was cut short (${received} bytes arrived)`);

    // A page the kernel buffers take whole, so that how fast this test reads it cannot matter.
    const full = await rawRequest(server.url, "GET", "/api/notes?limit=100");
    assert.equal(full.status, 200);
    assert.equal(JSON.parse(full.body).length, 100, "a client that reads is sent the whole page");
    assert.equal(await answeredOnNewConnection(server.url), 200, "the server stays healthy");
    assert.equal(server.child.exitCode, null);
    assert.equal(await server.stop(), 0);
  });
});
