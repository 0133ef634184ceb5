import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { READY_TIMEOUT_MS } from "../../src/app.js";
import { createSchema, POSTGRES_URL, withAdmin } from "../support/postgres.js";
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
): Promise<{ server: RunningServer; proxy: TcpProxy; schema: string }> {
  const target = new URL(POSTGRES_URL);
  const { schema, drop } = await createSchema("fault");
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  let server: RunningServer | undefined;
  t.after(async () => {
    await server?.kill();
    await proxy.close();
    await drop();
  });
  const url = new URL(POSTGRES_URL);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  url.searchParams.set("schema", schema);
  // Names the server's connections in pg_stat_activity, so a test can see what its pool holds.
  url.searchParams.set("application_name", schema);
  server = await startServer({ ...env, DATABASE_URL: url.toString() });
  assert.equal((await fetch(`${server.url}/api/people/1`)).status, 200);
  return { server, proxy, schema };
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

const postNote = (server: RunningServer, ms: number, content = "written while the database is away") =>
  answerWithin(server, "/api/people/1/notes", ms, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });

/** Every note content of person 1, read through the server once it serves again. */
async function contentsOfPersonOne(server: RunningServer): Promise<Set<string>> {
  await assertRecovers(server);
  const answer = await answerWithin(server, "/api/people/1/notes?limit=100", 5_000);
  assert.equal(answer.status, 200, answer.body);
  return new Set((JSON.parse(answer.body) as { content: string }[]).map((note) => note.content));
}

const NOTHING_CHANGED = /nothing was changed/;
const MAY_HAVE_BEEN_SAVED = /may have been saved; read it back/;

function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.body}`);
  assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/, what);
  assert.match(answer.headers.get("retry-after") ?? "", /^\d+$/, `${what} carries Retry-After`);
  assert.equal(JSON.parse(answer.body).status, 503, what);
}

async function assertNotReady(server: RunningServer, withinMs = 2_000): Promise<void> {
  const ready = await answerWithin(server, "/readyz", withinMs);
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
    "a frozen database: once it is known to be away, 503 at once (and /readyz), back within moments of its return",
    TEST_TIMEOUT,
    async (t) => {
      // Deadlines long enough that answering within a fraction of them cannot be waiting them out.
      const connectTimeoutMs = 3_000;
      const statementTimeoutMs = 3_000;
      const { server, proxy } = await serverBehindProxy(t, {
        DB_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
        DB_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs),
        DB_LOCK_TIMEOUT_MS: String(statementTimeoutMs),
      });
      proxy.setMode("blackhole");

      // Finding out takes a deadline: the first request waits for one.
      const first = await answerWithin(server, "/api/people/1", connectTimeoutMs + statementTimeoutMs + SLACK_MS);
      assertUnavailable(first, "the request that finds the database away");

      // From then on nothing waits for the database: each answer comes in a fraction of the deadlines.
      const fast = connectTimeoutMs / 2;
      const contents = Array.from({ length: 4 }, (_, i) => `written while frozen ${i}`);
      const answers = await Promise.all([
        ...Array.from({ length: 4 }, () => answerWithin(server, "/api/people/1", fast)),
        answerWithin(server, "/api/notes?limit=5", fast),
        ...contents.map((content) => postNote(server, fast, content)),
      ]);
      for (const [i, answer] of answers.entries()) {
        assertUnavailable(answer, `request ${i} while the database is away`);
        assert.match(JSON.parse(answer.body).detail, NOTHING_CHANGED);
      }
      const started = performance.now();
      for (let i = 0; i < 5; i++) await assertNotReady(server, READY_TIMEOUT_MS);
      const took = performance.now() - started;
      assert.ok(
        took < READY_TIMEOUT_MS,
        `five /readyz took ${Math.round(took)} ms: each must answer at once, not at its ${READY_TIMEOUT_MS} ms deadline`,
      );
      assert.equal((await answerWithin(server, "/healthz", 1_000)).status, 200);

      proxy.setMode("forward");
      await assertRecovers(server, connectTimeoutMs / 2);
      const kept = await contentsOfPersonOne(server);
      for (const content of contents) assert.equal(kept.has(content), false, `${content} got a 503, so it is absent`);
      assert.equal((await postNote(server, 2_000, "after the thaw")).status, 201);
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

describe("writes whose database connection is lost", () => {
  test("lost before the commit: 503 saying nothing was changed, and nothing was", TEST_TIMEOUT, async (t) => {
    const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
    const cut = proxy.cutAfterClientSends(/insert into "?note/i);
    const answer = await postNote(server, STATEMENT_TIMEOUT_MS + SLACK_MS, "lost before the commit");
    await within(cut, 1_000, "the proxy cutting the connection");
    assertUnavailable(answer, "a note whose connection was lost mid-transaction");
    assert.match(JSON.parse(answer.body).detail, NOTHING_CHANGED);
    assert.equal((await contentsOfPersonOne(server)).has("lost before the commit"), false);
  });

  test("lost at the commit: 503 saying the change may have been saved, and reading tells", TEST_TIMEOUT, async (t) => {
    const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
    const cut = proxy.cutAfterClientSends(/^Q[\s\S]*commit/i, 300);
    const answer = await postNote(server, STATEMENT_TIMEOUT_MS + SLACK_MS, "lost at the last step");
    await within(cut, 1_000, "the proxy cutting the connection");
    assertUnavailable(answer, "a note whose commit got no answer");
    assert.match(JSON.parse(answer.body).detail, MAY_HAVE_BEEN_SAVED);
    assert.equal(
      (await contentsOfPersonOne(server)).has("lost at the last step"),
      true,
      "the commit reached the database, so the note is there to be read back",
    );
    assert.match(server.output(), /connection lost while a change was being committed/);
  });

  test("a new person whose commit gets no answer is reported as possibly saved", TEST_TIMEOUT, async (t) => {
    const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
    // The person and their change are one transaction: the commit reaches the server, its answer never comes back.
    const cut = proxy.cutAfterClientSends(/^Q[\s\S]*commit/i, 300);
    const answer = await answerWithin(server, "/api/people", STATEMENT_TIMEOUT_MS + SLACK_MS, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fname: "Ada", lname: "Lovelace" }),
    });
    await within(cut, 1_000, "the proxy cutting the connection");
    assertUnavailable(answer, "a person whose commit got no answer");
    assert.match(JSON.parse(answer.body).detail, MAY_HAVE_BEEN_SAVED);
    await assertRecovers(server);
    const people = await answerWithin(server, "/api/people?limit=100", 5_000);
    assert.ok(
      (JSON.parse(people.body) as { lname: string }[]).some((person) => person.lname === "Lovelace"),
      "the commit ran, so reading shows it",
    );
  });

  test(
    "connections cut again and again under a stream of writes: every 201 is kept, every plain 503 was not made",
    TEST_TIMEOUT,
    async (t) => {
      const { server, proxy } = await serverBehindProxy(t, FAIL_FAST);
      proxy.latency(2);
      // Often enough to catch statements in flight, rarely enough for new connections to get through.
      // How often that is depends on how busy the machine is: a wave in which none got through cuts
      // half as often in the next one, a wave that no cut reached twice as often; at least six waves,
      // and more (up to twenty) until both have happened.
      let everyMs = 150;
      let cutting: NodeJS.Timeout | undefined;
      const answers: { content: string; answer: Answer }[] = [];
      const seen = (status: number) => answers.some(({ answer }) => answer.status === status);
      try {
        for (let wave = 0; wave < 20 && (wave < 6 || !seen(201) || !seen(503)); wave++) {
          cutting = setInterval(() => proxy.cut(), everyMs);
          const contents = Array.from({ length: 10 }, (_, i) => `storm ${wave}-${i}`);
          const results = await Promise.all(
            contents.map((content) => postNote(server, CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + SLACK_MS, content)),
          );
          clearInterval(cutting);
          for (const [i, content] of contents.entries()) answers.push({ content, answer: results[i] as Answer });
          if (!results.some((answer) => answer.status === 201)) everyMs *= 2;
          else if (results.every((answer) => answer.status === 201)) everyMs = Math.max(5, everyMs / 2);
        }
      } finally {
        clearInterval(cutting);
        proxy.latency(0);
      }
      const kept = await contentsOfPersonOne(server);
      const statuses = answers.map(({ answer }) => answer.status);
      assert.ok(statuses.includes(201) && statuses.includes(503), `both outcomes occur (saw ${statuses.join(",")})`);
      for (const { content, answer } of answers) {
        if (answer.status === 201) {
          assert.equal(kept.has(content), true, `${content} was acknowledged, so it is kept`);
          continue;
        }
        assertUnavailable(answer, content);
        if (NOTHING_CHANGED.test(JSON.parse(answer.body).detail)) {
          assert.equal(kept.has(content), false, `${content} got a 503 saying nothing changed, so it is absent`);
        }
      }
    },
  );
});

describe("a slow database", () => {
  test(
    "1.5 s of latency: 503 past the deadline, never a 500, and afterwards the pool holds only idle connections",
    TEST_TIMEOUT,
    async (t) => {
      const poolSize = 4;
      const { server, proxy, schema } = await serverBehindProxy(t, { ...FAIL_FAST, DB_POOL_SIZE: String(poolSize) });
      // Each way: a round trip takes 3 s, clearly past the service's own deadline for a statement
      // (the statement timeout and a 1 s margin: 2 s). With 1 s each way the round trip and the
      // deadline were equal, and an answer sometimes won the race (a 200 at load 24).
      proxy.latency(1_500);
      const storm = await Promise.all(
        Array.from({ length: 3 * poolSize }, (_, i) =>
          i % 2 === 0
            ? answerWithin(server, "/api/people/1", CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 2 * SLACK_MS)
            : postNote(server, CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 2 * SLACK_MS, `slow ${i}`),
        ),
      );
      for (const [i, answer] of storm.entries()) assertUnavailable(answer, `request ${i} over the deadline`);

      proxy.latency(0);
      await assertRecovers(server);
      // Statements of the storm still in flight when the latency ended may yet run into their
      // deadline (and open the circuit breaker) on a loaded machine: the burst starts once none is.
      await settledPool(server, 5_000);
      const burst = await Promise.all(
        Array.from({ length: 2 * poolSize }, () => answerWithin(server, "/api/people/1", 5_000)),
      );
      assert.deepEqual(
        burst.map((answer) => answer.status),
        burst.map(() => 200),
      );
      // The server's own periodic work (the change feed, count folding, purging) borrows a
      // connection now and then: wait, bounded, for a moment when none is out.
      const ready = await settledPool(server, 5_000);
      assert.ok(ready.connections.open <= poolSize, `at most ${poolSize} open (saw ${ready.connections.open})`);
      assert.equal(ready.connections.waiting, 0);
      assert.equal(ready.connections.idle, ready.connections.open, "every connection is back in the pool");
      const states = await poolStates(schema, 5_000);
      assert.ok(states.length <= poolSize, `at most ${poolSize} connections (saw ${states.length})`);
      assert.deepEqual(
        states.filter((state) => state !== "idle"),
        [],
        "no connection is left busy or in a transaction",
      );
    },
  );
});

interface Readiness {
  connections: { open: number; idle: number; waiting: number };
}

/**
 * /readyz once every open connection is idle, or the last ready one read when `ms` have passed. A
 * 503 (the ping took longer than readiness allows, on a loaded machine) is read again.
 */
async function settledPool(server: RunningServer, ms: number): Promise<Readiness> {
  const deadline = Date.now() + ms;
  let last: Readiness | undefined;
  for (;;) {
    const answer = await answerWithin(server, "/readyz", 2_000);
    if (answer.status === 200) {
      last = JSON.parse(answer.body) as Readiness;
      const { open, idle, waiting } = last.connections;
      if (idle === open && waiting === 0) return last;
    }
    if (Date.now() > deadline) {
      if (last) return last;
      assert.fail(`/readyz never ready within ${ms} ms: ${answer.status} ${answer.body}`);
    }
    await sleep(100);
  }
}

/** The states of the server's connections once none is active (waiting up to `ms` for that). */
async function poolStates(applicationName: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const states = await withAdmin(async (client) => {
      const { rows } = await client.query<{ state: string }>(
        // Not the connection that listens for other processes' changes (the change feed's signals,
        // which webhook delivery keeps open): it is the pool's connections that are counted here.
        "select state from pg_stat_activity where application_name = $1 and query not ilike 'listen %'",
        [applicationName],
      );
      return rows.map((row) => row.state);
    });
    if (states.every((state) => state === "idle") || Date.now() > deadline) return states;
    await sleep(100);
  }
}
