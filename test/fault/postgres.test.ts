import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { POSTGRES_URL, withAdmin } from "../support/app.js";
import { type RunningServer, startServer, within } from "../support/server-process.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const CONNECT_TIMEOUT_MS = 500;
const STATEMENT_TIMEOUT_MS = 1000;
/** What the service may take beyond its own deadline to answer. */
const SLACK_MS = 1500;
const FAIL_FAST = {
  DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  DB_LOCK_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
};
const TEST_TIMEOUT = { timeout: 60_000 };

/**
 * The server on a schema of its own, reaching PostgreSQL through a proxy the test controls. It
 * starts with the proxy forwarding, so it migrates and seeds; everything is removed after the test.
 */
async function serverBehindProxy(
  t: TestContext,
  env: Record<string, string>,
): Promise<{ server: RunningServer; proxy: TcpProxy }> {
  const target = new URL(POSTGRES_URL);
  const schema = `fault_${randomBytes(6).toString("hex")}`;
  await withAdmin((client) => client.query(`create schema ${schema}`));
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  let server: RunningServer | undefined;
  t.after(async () => {
    await server?.kill();
    await proxy.close();
    await withAdmin(async (client) => {
      await client.query("set lock_timeout = '10s'");
      await client.query(`drop schema ${schema} cascade`);
    });
  });
  const url = new URL(POSTGRES_URL);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  url.searchParams.set("schema", schema);
  server = await startServer({ ...env, DATABASE_URL: url.toString() });
  assert.equal((await fetch(`${server.url}/api/people/1`)).status, 200);
  return { server, proxy };
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Why a request got no answer: too slow, or the server process died under it. */
async function noAnswer(server: RunningServer, what: string, ms: number, error: Error): Promise<Error> {
  const reason = error.name === "TimeoutError" ? `nothing within ${ms} ms` : String(error.cause ?? error.message);
  const exit = await Promise.race([server.exited, sleep(500).then(() => "running" as const)]);
  const died = exit === "running" ? "" : `; the server exited (${exit}):\n${server.output()}`;
  return new Error(`${what}: ${reason}${died}`);
}

/** A request that must be answered within `ms`. */
async function answerWithin(server: RunningServer, path: string, ms: number, init: RequestInit = {}): Promise<Answer> {
  try {
    const response = await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(ms) });
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch (error) {
    throw await noAnswer(server, `${init.method ?? "GET"} ${path}`, ms, error as Error);
  }
}

const postNote = (server: RunningServer, ms: number) =>
  answerWithin(server, "/api/people/1/notes", ms, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content: "written while the database is away" }),
  });

function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.body}`);
  assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/, what);
  assert.match(answer.headers.get("retry-after") ?? "", /^\d+$/, `${what} carries Retry-After`);
  assert.equal(JSON.parse(answer.body).status, 503, what);
}

async function assertNotReady(server: RunningServer): Promise<void> {
  const ready = await answerWithin(server, "/readyz", 2_000);
  assert.equal(ready.status, 503, `/readyz: ${ready.status} ${ready.body}`);
  assert.match(ready.headers.get("content-type") ?? "", /^application\/problem\+json/);
}

/** Polls until person 1 is served again; meanwhile every answer is a 200 or a 503, in time. */
async function assertRecovers(server: RunningServer, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  const seen: number[] = [];
  for (let attempt = 0; attempt < 100 && Date.now() < deadline; attempt++) {
    const answer = await answerWithin(server, "/api/people/1", STATEMENT_TIMEOUT_MS + SLACK_MS);
    seen.push(answer.status);
    if (answer.status === 200) {
      assert.equal(JSON.parse(answer.body).lname, "Farrell");
      return;
    }
    assertUnavailable(answer, "while the service recovers");
    await sleep(100);
  }
  assert.fail(`no 200 within ${withinMs} ms of the database coming back (saw ${seen.join(", ")})`);
}

describe("PostgreSQL that stops answering, behind a proxy", () => {
  test(
    "a blackholed database: 503 with Retry-After in time, /readyz 503, /healthz 200, then recovery",
    TEST_TIMEOUT,
    async (t) => {
      const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
      proxy.setMode("blackhole");

      assertUnavailable(await answerWithin(server, "/api/people/1", STATEMENT_TIMEOUT_MS + SLACK_MS), "a read");
      assertUnavailable(await postNote(server, STATEMENT_TIMEOUT_MS + SLACK_MS), "a write");
      await assertNotReady(server);
      assert.equal((await answerWithin(server, "/healthz", 1_000)).status, 200);

      proxy.setMode("forward");
      await assertRecovers(server);
    },
  );

  test(
    "refused and cut connections, one with a query in flight: 503, never 500, then recovery",
    TEST_TIMEOUT,
    async (t) => {
      const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
      proxy.latency(300);
      const inFlight = answerWithin(server, "/api/people/1", CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + SLACK_MS);
      await sleep(100);
      proxy.setMode("refuse");
      proxy.cut();
      proxy.latency(0);

      assertUnavailable(await inFlight, "a read whose connection was cut");
      assertUnavailable(await answerWithin(server, "/api/people/1", CONNECT_TIMEOUT_MS + SLACK_MS), "a read");
      assertUnavailable(await postNote(server, CONNECT_TIMEOUT_MS + SLACK_MS), "a write");
      await assertNotReady(server);

      proxy.setMode("forward");
      await assertRecovers(server);
      assert.equal((await postNote(server, 2_000)).status, 201);
    },
  );

  test(
    "SIGTERM while a request waits on a database that never answers: exit 1 at the shutdown deadline",
    TEST_TIMEOUT,
    async (t) => {
      const shutdownTimeoutMs = 2_000;
      const { server, proxy } = await serverBehindProxy(t, {
        DB_CONNECT_TIMEOUT_MS: "30000",
        DB_STATEMENT_TIMEOUT_MS: "30000",
        DB_LOCK_TIMEOUT_MS: "30000",
        SHUTDOWN_DELAY_MS: "100",
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      });
      proxy.setMode("blackhole");
      let settled = false;
      const hanging = fetch(`${server.url}/api/people/1`).then(
        () => {},
        () => {},
      );
      hanging.finally(() => {
        settled = true;
      });
      await sleep(300);
      assert.equal(settled, false, "the request waits for the database");

      server.child.kill("SIGTERM");
      const code = await within(server.exited, shutdownTimeoutMs + 5_000, "the process exiting after SIGTERM");
      assert.equal(code, 1, "cutting connections at the deadline is not a clean stop");
      await within(hanging, 1_000, "the hanging request ending once its connection is cut");
    },
  );
});
