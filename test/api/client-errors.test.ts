import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { DEFAULT_SERVER_LIMITS } from "../../src/http/settings.js";
import { createDatabase, type Problem, type TestDatabase } from "../support/app.js";
import { RawConnection, type RawResponse, requestHead, within } from "../support/server-process.js";

/**
 * Answers Node gives before a request reaches a route (too slow, malformed, headers too large) are
 * problem documents like every other error, and the connection is closed after them.
 */

/** Deadlines are checked once a second: a limit of a second or less has cut its connection by then. */
const CUT_WITHIN_MS = 5_000;

let database: TestDatabase;
before(async () => {
  database = await createDatabase("sqlite");
  await prepareDatabase(database.store);
});
after(() => database.destroy());

async function listening(t: TestContext): Promise<string> {
  const app = await buildApp({
    store: database.store,
    serverLimits: { ...DEFAULT_SERVER_LIMITS, headersTimeoutMs: 500, requestTimeoutMs: 1_000, shedEventLoopDelayMs: 0 },
  });
  t.after(async () => {
    app.server.closeAllConnections();
    await app.close();
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

async function opened(t: TestContext, url: string): Promise<RawConnection> {
  const connection = await RawConnection.open(url);
  t.after(() => connection.close());
  return connection;
}

/** The one answer a connection gets before the server closes it. */
async function lastAnswer(connection: RawConnection): Promise<RawResponse> {
  await within(connection.closed, CUT_WITHIN_MS, "the server closing the connection");
  return connection.next(0);
}

function assertProblemAnswer(answer: RawResponse, status: number, detail: RegExp): Problem {
  assert.equal(answer.status, status, answer.body);
  assert.match(answer.headers["content-type"] ?? "", /^application\/problem\+json/);
  assert.equal(answer.headers.connection, "close");
  assert.equal(Number(answer.headers["content-length"]), Buffer.byteLength(answer.body));
  const problem = JSON.parse(answer.body) as Problem;
  assert.deepEqual(Object.keys(problem).sort(), ["detail", "status", "title", "type"]);
  assert.equal(problem.type, "about:blank");
  assert.equal(problem.status, status);
  assert.match(problem.detail, detail);
  return problem;
}

describe("answers given before a request reaches a route", () => {
  test("a body that stops coming is a 408 problem, and nothing is created", async (t) => {
    const url = await listening(t);
    const upload = await opened(t, url);
    const head = requestHead("POST", "/api/people", { "content-type": "application/json", "content-length": 100 });
    upload.send(`${head}{"fname":"Slow","lname":"Upload"`);
    const problem = assertProblemAnswer(await lastAnswer(upload), 408, /did not arrive in time; nothing was changed/);
    assert.equal(problem.title, "Request Timeout");

    const check = await opened(t, url);
    check.send(requestHead("GET", "/api/people?q=Upload"));
    const people = await check.next();
    assert.equal(people.status, 200);
    assert.deepEqual(JSON.parse(people.body), []);
  });

  test("a DELETE whose body stops coming is a 408 problem, and nothing is deleted", async (t) => {
    const url = await listening(t);
    const upload = await opened(t, url);
    upload.send(`${requestHead("DELETE", "/api/people/1/notes/1", { "content-length": 100 })}{`);
    assertProblemAnswer(await lastAnswer(upload), 408, /did not arrive in time; nothing was changed/);

    const check = await opened(t, url);
    check.send(requestHead("GET", "/api/people/1/notes/1"));
    assert.equal((await check.next()).status, 200);
  });

  test("headers that stop coming are a 408 problem", async (t) => {
    const url = await listening(t);
    const slow = await opened(t, url);
    slow.send("GET /api/people HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    assertProblemAnswer(await lastAnswer(slow), 408, /did not arrive in time/);
  });

  test("a request that is not HTTP is a 400 problem", async (t) => {
    const url = await listening(t);
    const garbled = await opened(t, url);
    garbled.send("GET /api/people HTTP/1.1\r\nhost 127.0.0.1\r\n\r\n");
    assertProblemAnswer(await lastAnswer(garbled), 400, /not a well-formed HTTP request/);
  });

  test("a method the server does not know at all is a 501 problem", async (t) => {
    const url = await listening(t);
    const unknown = await opened(t, url);
    unknown.send(requestHead("BREW", "/api/people", { "content-length": 0 }));
    assertProblemAnswer(await lastAnswer(unknown), 501, /BREW|method/);
  });

  test("headers over 16 KiB are a 431 problem", async (t) => {
    const url = await listening(t);
    const large = await opened(t, url);
    large.send(requestHead("GET", "/api/people", { "x-large": "x".repeat(17_000) }));
    assertProblemAnswer(await lastAnswer(large), 431, /headers are larger than the server accepts/);
  });
});
