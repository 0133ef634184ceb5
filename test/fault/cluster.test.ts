import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FIRST_RESTART_DELAY_MS, STABLE_AFTER_MS } from "../../src/cluster.js";
import { eventually } from "../support/eventually.js";
import { START_LIMIT_MS } from "../support/limits.js";
import { createSchema } from "../support/postgres.js";
import {
  connectionRefused,
  freePort,
  RawConnection,
  type RunningServer,
  requestHead,
  runToExit,
  startServer,
  startUpload,
  within,
} from "../support/server-process.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-cluster-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let databases = 0;
const sqliteUrl = () => `sqlite:${join(dir, `cluster-${++databases}.db`)}`;

type LogLine = Record<string, unknown> & { msg?: string; pid?: number };

/**
 * Every line the process has written to standard output so far, each of which must be a JSON
 * record. A line still being read (a pipe read can end inside one) is not a line yet; once the
 * process has exited, the output must end with a whole line.
 */
function logLines(server: RunningServer): LogLine[] {
  const stdout = server.stdout();
  const exited = server.child.exitCode !== null || server.child.signalCode !== null;
  if (exited && stdout !== "" && !stdout.endsWith("\n")) {
    throw new Error(`the output ends inside a line: ${stdout.slice(-300)}`);
  }
  return stdout
    .slice(0, stdout.lastIndexOf("\n") + 1)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`a log line that is not JSON: ${line.slice(0, 300)}`);
      }
    });
}

/** Waits (at most `ms`) until the log holds a line `matches` accepts, and returns it. */
async function waitForLine(
  server: RunningServer,
  matches: (line: LogLine) => boolean,
  ms = START_LIMIT_MS,
): Promise<LogLine> {
  const found = await eventually(
    async () => logLines(server).find(matches),
    (line) => line !== undefined,
    "a log line",
    ms,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the output ends:\n${server.output().slice(-3000)}`);
  });
  return found as LogLine;
}

/** The pids of the workers that have said they are listening, once there are `count` of them. */
function listeningWorkers(server: RunningServer, count: number, ms = START_LIMIT_MS): Promise<number[]> {
  return eventually(
    async () =>
      logLines(server)
        .filter((line) => line.msg === "worker listening")
        .map((line) => line.workerPid as number),
    (pids) => pids.length >= count,
    `${count} workers listening`,
    ms,
  );
}

/** A cluster of two workers, logging every request, once both workers listen. */
async function startCluster(env: Record<string, string>): Promise<{ server: RunningServer; pids: number[] }> {
  const server = await startServer({ WORKERS: "2", LOG_LEVEL: "info", ...env });
  return { server, pids: await listeningWorkers(server, 2) };
}

/** The log lines of completed requests for `url`, among the lines after the first `skip`. */
const requestLines = (server: RunningServer, method: string, url: string, skip = 0) =>
  logLines(server)
    .slice(skip)
    .filter((line) => line.msg === "request completed" && line.method === method && line.url === url);

/** Which processes logged a request whose URL is `url`, among the log lines after the first `skip`. */
const servedBy = (server: RunningServer, method: string, url: string, skip = 0) =>
  new Set(requestLines(server, method, url, skip).map((line) => line.pid));

/**
 * Waits until `count` requests for `url` answered after the first `skip` lines are logged: a
 * worker writes a request's line once the response has gone, so it can reach the pipe after the
 * client has its answer.
 */
function loggedRequests(server: RunningServer, method: string, url: string, count: number, skip = 0) {
  return eventually(
    async () => requestLines(server, method, url, skip),
    (lines) => lines.length >= count,
    `${count} ${method} ${url} logged`,
  );
}

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A status, or the error's message when no answer came (a reset connection is a failure too). */
async function statusOf(request: Promise<Response>): Promise<string> {
  try {
    const response = await request;
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return `failed: ${(error as Error).cause ?? (error as Error).message}`;
  }
}

function tally(results: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[result] = (counts[result] ?? 0) + 1;
  return counts;
}

const uniqueName = () => `P${randomBytes(5).toString("hex")}`;

async function createPerson(url: string): Promise<number> {
  const response = await post(url, "/api/people", { fname: uniqueName(), lname: uniqueName() });
  assert.equal(response.status, 201);
  return ((await response.json()) as { person_id: number }).person_id;
}

/** `count` identical people POSTs at once, the i-th to `urls[i % urls.length]`. */
async function racingCreates(urls: string[], count: number): Promise<Record<string, number>> {
  const person = { fname: uniqueName(), lname: uniqueName() };
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) => statusOf(post(urls[i % urls.length] as string, "/api/people", person))),
  );
  return tally(results);
}

/** `count` note POSTs at once for one new person; checks each is a 201 and returns their ids. */
async function simultaneousNotes(urls: string[], count: number): Promise<{ personId: number; ids: number[] }> {
  const personId = await createPerson(urls[0] as string);
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      post(urls[i % urls.length] as string, `/api/people/${personId}/notes`, { content: `note ${i}` }),
    ),
  );
  assert.deepEqual(tally(responses.map((response) => String(response.status))), { "201": count });
  const ids = await Promise.all(
    responses.map(async (response) => ((await response.json()) as { note_id: number }).note_id),
  );
  return { personId, ids };
}

async function notesTotal(url: string, personId: number): Promise<number> {
  const response = await fetch(`${url}/api/people/${personId}/notes?limit=1`);
  assert.equal(response.status, 200);
  return Number(response.headers.get("x-total-count"));
}

describe("two separately started servers on one PostgreSQL schema", () => {
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let servers: RunningServer[] = [];
  let urls: string[] = [];

  before(async () => {
    schema = await createSchema("cluster");
    servers = await Promise.all([startServer({ DATABASE_URL: schema.url }), startServer({ DATABASE_URL: schema.url })]);
    urls = servers.map((server) => server.url);
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await schema.drop();
  });

  test("a write through one is read through the other at once", async () => {
    const [first = "", second = ""] = urls;
    const personId = await createPerson(first);
    const created = await post(first, `/api/people/${personId}/notes`, { content: "written on one" });
    assert.equal(created.status, 201);
    const { note_id: noteId } = (await created.json()) as { note_id: number };
    const read = await fetch(`${second}/api/people/${personId}/notes/${noteId}`);
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { content: string }).content, "written on one");

    const changed = await fetch(`${second}/api/people/${personId}/notes/${noteId}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "changed on the other" }),
    });
    assert.equal(changed.status, 200);
    const again = await fetch(`${first}/api/people/${personId}/notes/${noteId}`);
    assert.equal(((await again.json()) as { content: string }).content, "changed on the other");
  });

  test("50 identical people POSTs spread over both: one 201, 49 × 409", async () => {
    assert.deepEqual(await racingCreates(urls, 50), { "201": 1, "409": 49 });
  });

  test("200 simultaneous note POSTs over both: all 201, distinct ids, and the count says 200", async () => {
    const { personId, ids } = await simultaneousNotes(urls, 200);
    assert.equal(new Set(ids).size, 200);
    for (const url of urls) assert.equal(await notesTotal(url, personId), 200);
  });
});

describe("a cluster of two workers on one PostgreSQL schema", () => {
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let cluster: RunningServer;

  before(async () => {
    schema = await createSchema("cluster");
    ({ server: cluster } = await startCluster({ DATABASE_URL: schema.url }));
  });
  after(async () => {
    await cluster.kill();
    await schema.drop();
  });

  test("the database is prepared once, by the primary", async () => {
    const ready = logLines(cluster).filter((line) => line.msg === "database ready");
    assert.equal(ready.length, 1, "one database ready line");
    assert.equal(ready[0]?.seeded, true);
    const people = await fetch(`${cluster.url}/api/people`);
    assert.equal(((await people.json()) as unknown[]).length, 3, "seeded once: the tutorial's three people");
  });

  // The kernel hands each connection to whichever worker accepts first, so one round may land on
  // a single worker; rounds repeat (a bounded number of times) until one was answered by both.
  test("50 identical people POSTs: one 201, 49 × 409, answered by both workers", async () => {
    let answeredBy = 0;
    for (let round = 0; round < 10 && answeredBy < 2; round++) {
      const logged = logLines(cluster).length;
      assert.deepEqual(await racingCreates([cluster.url], 50), { "201": 1, "409": 49 });
      await loggedRequests(cluster, "POST", "/api/people", 50, logged);
      answeredBy = servedBy(cluster, "POST", "/api/people", logged).size;
    }
    assert.equal(answeredBy, 2, "both workers answered one round");
  });

  test("200 simultaneous note POSTs: all 201, distinct ids, the count says 200, both workers wrote", async () => {
    let wroteIn = 0;
    for (let round = 0; round < 10 && wroteIn < 2; round++) {
      const { personId, ids } = await simultaneousNotes([cluster.url], 200);
      assert.equal(new Set(ids).size, 200);
      assert.equal(await notesTotal(cluster.url, personId), 200);
      await loggedRequests(cluster, "POST", `/api/people/${personId}/notes`, 200);
      wroteIn = servedBy(cluster, "POST", `/api/people/${personId}/notes`).size;
    }
    assert.equal(wroteIn, 2, "both workers wrote in one round");
  });
});

const SHUTDOWN = { SHUTDOWN_DELAY_MS: "1000", SHUTDOWN_TIMEOUT_MS: "2500" };

describe("cluster supervision", () => {
  test("a worker killed with SIGKILL is replaced, and the service keeps answering", async (t) => {
    const { server, pids } = await startCluster({ DATABASE_URL: sqliteUrl() });
    t.after(() => server.kill());
    const [victim] = pids;
    assert.ok(victim);
    const clients = 4;
    let replacement: number | undefined;
    const results: string[] = [];
    const afterReplacement: string[] = [];
    // A bound on a hang: the clients go on until 100 requests were answered after the replacement
    // listens, however long a busy machine takes to start it.
    const deadline = Date.now() + 2 * START_LIMIT_MS;
    // Each client sends one request at a time on a fresh connection, so at most one per client can be
    // in flight on the worker when it dies.
    const client = async () => {
      while (afterReplacement.length < 100 && Date.now() < deadline) {
        const result = await statusOf(
          fetch(`${server.url}/api/people/1`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5_000) }),
        );
        (replacement === undefined ? results : afterReplacement).push(result);
      }
    };
    const load = Promise.all(Array.from({ length: clients }, client));
    // Killed while the clients' requests are flowing.
    await eventually(
      async () => results.length,
      (answered) => answered >= 20,
      "the first answers",
    );
    process.kill(victim, "SIGKILL");
    const restarted = await waitForLine(
      server,
      (line) => line.msg === "worker listening" && !pids.includes(line.workerPid as number),
    );
    replacement = restarted.workerPid as number;
    await load;

    const failures = results.filter((result) => result !== "200");
    assert.ok(
      failures.length <= clients,
      `only requests in flight on the killed worker fail: ${JSON.stringify(tally(results))}`,
    );
    assert.deepEqual(
      tally(afterReplacement),
      { "200": afterReplacement.length },
      "every request after the replacement is answered",
    );
    assert.ok(afterReplacement.length >= 100, "requests kept coming after the replacement");
    const exit = logLines(server).find((line) => line.workerPid === victim && line.signal === "SIGKILL");
    assert.equal(exit?.msg, "worker was killed by SIGKILL: restarting it");
    // The new worker answers requests (one of the requests after it listened, by its log line).
    await waitForLine(
      server,
      (line) => line.msg === "request completed" && line.url === "/api/people/1" && line.pid === replacement,
    );
    assert.equal(await within(server.stop(), START_LIMIT_MS, "the exit"), 0);
  });

  test("a worker that must cut a request at the drain deadline makes the primary exit 1", async (t) => {
    const { server } = await startCluster({ DATABASE_URL: sqliteUrl(), ...SHUTDOWN });
    t.after(() => server.kill());
    const upload = await RawConnection.open(server.url);
    upload.send(
      requestHead("POST", "/api/people/1/notes", {
        "content-type": "application/json",
        "content-length": 100,
        expect: "100-continue",
      }),
    );
    assert.equal((await upload.next()).status, 100, "a worker has received the request");
    upload.send('{"content":');
    server.child.kill("SIGTERM");
    await within(upload.closed, 6_000, "the stalled upload being cut");
    assert.equal(await within(server.exited, START_LIMIT_MS, "the exit"), 1);
  });

  test("workers that cannot start stop the service with one clear line and exit 1", async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((listening) => taken.listen(port, "127.0.0.1", listening));
    try {
      const { code, output } = await within(
        runToExit({ WORKERS: "2", PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: sqliteUrl() }),
        START_LIMIT_MS,
        "the exit",
      );
      assert.equal(code, 1, output);
      const stops = output.split("\n").filter((line) => line.includes("stopping the service"));
      assert.equal(stops.length, 1, output);
      assert.match(stops[0] ?? "", /^people-notes: worker \d \(pid \d+\) exited with code 1 before it was listening/);
    } finally {
      taken.close();
    }
  });

  test("an unreachable database at start stops the primary before any worker is forked", async () => {
    const { code, output } = await within(
      runToExit({ WORKERS: "2", DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", DB_CONNECT_TIMEOUT_MS: "500" }),
      START_LIMIT_MS,
      "the exit",
    );
    assert.equal(code, 1);
    assert.match(output, /people-notes: cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:1\/none/);
    assert.doesNotMatch(output, /worker started/);
  });

  test("a crash loop (more than 5 unexpected exits in 30 s) stops the service with one clear line and exit 1", async (t) => {
    const server = await startServer({ WORKERS: "2", LOG_LEVEL: "info", DATABASE_URL: sqliteUrl() });
    t.after(() => server.kill());
    let exitCode: number | null | undefined;
    void server.exited.then((code) => {
      exitCode = code;
    });
    const killed = new Set<number>();
    // The first two workers are killed once they listen (a first worker that dies before it ever
    // listened stops the service with another message); each replacement as soon as it is forked,
    // so that the six exits fit in 30 s however slowly a loaded machine starts a worker. Bounded in
    // count and time.
    const initial = await listeningWorkers(server, 2);
    const deadline = Date.now() + START_LIMIT_MS;
    while (exitCode === undefined && killed.size < 20 && Date.now() < deadline) {
      const replacements = logLines(server)
        .filter((line) => line.msg === "worker started")
        .map((line) => line.workerPid as number)
        .filter((pid) => !initial.includes(pid));
      for (const pid of [...initial, ...replacements].filter((pid) => !killed.has(pid))) {
        killed.add(pid);
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already: the service stopped its workers
        }
      }
      await sleep(25);
    }
    assert.equal(await within(server.exited, START_LIMIT_MS, "the exit"), 1);
    const stops = server
      .output()
      .split("\n")
      .filter((line) => line.includes("stopping the service"));
    assert.deepEqual(stops, [
      "people-notes: crash loop: 6 workers exited unexpectedly within 30 s; stopping the service",
    ]);
    const restarts = logLines(server).filter((line) => line.worker === 1 && line.restartInMs !== undefined);
    const [first, second] = restarts;
    assert.ok(first && second, `slot 1 restarted twice: ${JSON.stringify(restarts)}`);
    assert.equal(first.restartInMs, FIRST_RESTART_DELAY_MS);
    // The second worker of the slot lived from its fork (the first restart's delay after that exit)
    // to the second exit, by the primary's clock. On a machine busy enough that it lived past
    // STABLE_AFTER_MS before it was killed, it counts as healthy and the delay starts again.
    const lived = (second.time as number) - ((first.time as number) + FIRST_RESTART_DELAY_MS);
    if (Math.abs(lived - STABLE_AFTER_MS) > 500) {
      const expected = lived < STABLE_AFTER_MS ? 2 * FIRST_RESTART_DELAY_MS : FIRST_RESTART_DELAY_MS;
      assert.equal(
        second.restartInMs,
        expected,
        `each restart of a slot soon after its start waits twice as long (lived ${lived} ms)`,
      );
    }
  });

  test("WORKERS=1 on SQLite serves from one process, without the warning", async (t) => {
    const server = await startServer({ WORKERS: "1", LOG_LEVEL: "info", DATABASE_URL: sqliteUrl() });
    t.after(() => server.kill());
    assert.equal((await fetch(`${server.url}/api/people/1`)).status, 200);
    assert.equal(await within(server.stop(), START_LIMIT_MS, "the exit"), 0);
    const lines = logLines(server);
    assert.equal(new Set(lines.map((line) => line.pid)).size, 1, "one process wrote every line");
    assert.ok(!lines.some((line) => /worker|write lock/.test(line.msg ?? "")), server.stdout());
  });

  for (const [how, env, args, message] of [
    ["WORKERS", { WORKERS: "many" }, ["dist/server.js"], /WORKERS must be auto or a whole number from 1 to 256/],
    ["WORKERS", { WORKERS: "0" }, ["dist/server.js"], /WORKERS must be auto or a whole number from 1 to 256/],
    ["--workers", {}, ["dist/cli.js", "serve", "--workers", "2.5"], /--workers must be auto or a whole number/],
  ] as const) {
    test(`an invalid ${how} (${JSON.stringify(env.WORKERS ?? args.at(-1))}) stops start-up with a clear message`, async () => {
      const { code, output } = await within(
        runToExit({ DATABASE_URL: sqliteUrl(), ...env }, { args: [...args] }),
        START_LIMIT_MS,
        "the exit",
      );
      assert.equal(code, 1);
      assert.match(output, message);
    });
  }
});

describe("start-up checks on PostgreSQL", () => {
  test("WORKERS × (DB_POOL_SIZE + 1) beyond max_connections minus the headroom is a warning with the numbers", async (t) => {
    const schema = await createSchema("cluster");
    t.after(() => schema.drop());
    const server = await startServer({ WORKERS: "2", DB_POOL_SIZE: "60", DATABASE_URL: schema.url });
    t.after(() => server.kill());
    const warning = await waitForLine(server, (line) => line.wanted !== undefined);
    assert.equal(warning.wanted, 122);
    assert.equal(warning.workers, 2);
    assert.equal(warning.poolSize, 60);
    assert.match(
      warning.msg ?? "",
      /WORKERS × \(DB_POOL_SIZE \+ 1 listening\) = 122 connections .* max_connections \d+ − reserved \d+ − headroom 3 − in use now \d+ = -?\d+/,
    );
    assert.equal(await within(server.stop(), START_LIMIT_MS, "the exit"), 0);
  });
});

/**
 * One cluster for the tests that leave it as it was, started as an operator would: `serve
 * --workers 2`. The last test ends it with SIGTERM.
 */
describe("a cluster of two workers on SQLite, started with serve --workers 2", () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer(
      { LOG_LEVEL: "info", DATABASE_URL: sqliteUrl(), ...SHUTDOWN },
      { args: ["dist/cli.js", "serve", "--workers", "2"] },
    );
    await listeningWorkers(server, 2);
  });
  after(() => server.kill());

  test("it warns that SQLite's writes queue across processes", () => {
    const warning = logLines(server).find(
      (line) => line.level === 40 && /SQLite has one write lock/.test(line.msg ?? ""),
    );
    assert.equal(warning?.workers, 2);
  });

  test("one scrape counts the requests every worker answered", async () => {
    const skip = logLines(server).length;
    const counted = async () => {
      const scrape = await fetch(`${server.url}/metrics`);
      assert.equal(scrape.status, 200);
      const text = await scrape.text();
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("http_requests_total{") &&
            l.includes('operation="people.read_one"') &&
            l.includes('status="200"'),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const before = await counted();
    let sent = 0;
    // Fresh connections, many at once, until both workers have answered some (bounded).
    for (let round = 0; round < 10 && servedBy(server, "GET", "/api/people/1", skip).size < 2; round++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          statusOf(fetch(`${server.url}/api/people/1`, { headers: { connection: "close" } })),
        ),
      );
      assert.deepEqual(tally(answers), { 200: 20 });
      sent += 20;
      await loggedRequests(server, "GET", "/api/people/1", sent, skip);
    }
    assert.equal(servedBy(server, "GET", "/api/people/1", skip).size, 2, "both workers answered");
    assert.equal((await counted()) - before, sent, "the requests of both workers, summed");
  });

  test("every line on standard output is a whole JSON record, even when the pipe fills up", async () => {
    const skip = logLines(server).length;
    const url = (i: number) => `/api/people/1?pad=${"x".repeat(i % 50 === 0 ? 6000 : 1000 + (i % 7) * 150)}`;
    // Request lines of 1 to 2 kB, a few over PIPE_BUF, from both workers at once, while nobody reads
    // the pipe: writes then wait for room, which is when long writes of two processes mix.
    server.child.stdout?.pause();
    const requests = Array.from({ length: 300 }, (_, i) => statusOf(fetch(`${server.url}${url(i)}`)));
    await sleep(1_000);
    server.child.stdout?.resume();
    const results = await Promise.all(requests);
    assert.ok(!results.some((result) => result.startsWith("failed")), JSON.stringify(tally(results)));
    // Every line so far parses (logLines checks each); these requests' lines, once all are written:
    const padded = (line: LogLine) =>
      line.msg === "request completed" && /^\/api\/people\/1\?pad=/.test(String(line.url));
    const lines = await eventually(
      async () => logLines(server).slice(skip).filter(padded),
      (found) => found.length >= 300,
      "a log line for each request",
    );
    assert.equal(lines.length, 300, "every request was logged once");
    assert.equal(new Set(lines.map((line) => line.pid)).size, 2, "by both workers");
    assert.equal(lines.filter((line) => line.truncatedFromBytes !== undefined).length, 6);
  });

  // Last: it ends the cluster.
  test("SIGTERM to the primary drains every worker: a request in flight is answered, and it exits 0", async () => {
    const body = JSON.stringify({ content: "written across the shutdown" });
    const upload = await startUpload(server.url, body, 10);

    server.child.kill("SIGTERM");
    await eventually(() => connectionRefused(server.url), Boolean, "the listeners closed once the delay has passed");
    upload.send(body.slice(10));
    const response = await upload.next();
    assert.equal(response.status, 201, response.body);
    assert.equal(response.headers.connection, "close");
    assert.equal(await within(server.exited, START_LIMIT_MS, "the exit"), 0);
    // Every line the cluster wrote, the tests' above included, is whole, up to the last.
    const lines = logLines(server);
    assert.equal(lines.filter((line) => line.msg === "stopped cleanly").length, 2, "both workers drained");
    assert.deepEqual(
      lines.filter((line) => line.msg === "worker stopped").map((line) => line.code),
      [0, 0],
    );
  });
});
