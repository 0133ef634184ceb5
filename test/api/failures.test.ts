import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CompiledQuery } from "kysely";
import { buildApp } from "../../src/app.js";
import { NO_SIGNALS } from "../../src/db/changes/signals.js";
import type { Store } from "../../src/db/database.js";
import { DatabaseFullError, DatabaseUnavailableError } from "../../src/db/errors.js";
import type { Executor } from "../../src/db/executor.js";
import { assertMatchesContract } from "../support/contract.js";

/** What the failing store throws: an internal error that must never reach a client. */
const SECRET = "relation people_secret at /srv/app/db.sqlite: select * from token where hash = 'abc'";

/** A store whose every statement fails with what `fail` makes. */
function failingStore(fail: (query: CompiledQuery) => unknown): Store {
  const executor: Executor = {
    engine: "sqlite",
    executeQuery: async (query) => {
      throw fail(query);
    },
    executeQueryFirst: async (query) => {
      throw fail(query);
    },
  };
  return {
    ...executor,
    transaction: (work) => work(executor),
    db: undefined as never,
    ping: async () => {
      throw fail({ sql: "select 1" } as CompiledQuery);
    },
    connections: () => ({ open: 0, idle: 0, waiting: 0 }),
    changeSignals: NO_SIGNALS,
    close: async () => {},
  };
}

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  err?: { message?: string; stack?: string };
}

async function appWith(store: Store) {
  const lines: LogLine[] = [];
  const app = await buildApp({
    store,
    logger: { level: "info", stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
  });
  await app.ready();
  return { app, lines };
}

const WARN = 40;
const ERROR = 50;

/** Every operation of the contract, each with a request that reaches the database. */
const REQUESTS: { method: "GET" | "POST" | "PUT" | "DELETE"; url: string; payload?: object }[] = [
  { method: "GET", url: "/api/people" },
  { method: "POST", url: "/api/people", payload: { fname: "A", lname: "B" } },
  { method: "GET", url: "/api/people/1" },
  { method: "PUT", url: "/api/people/1", payload: { fname: "A", lname: "B" } },
  { method: "DELETE", url: "/api/people/1" },
  { method: "GET", url: "/api/people/1/notes" },
  { method: "POST", url: "/api/people/1/notes", payload: { content: "x" } },
  { method: "GET", url: "/api/people/1/notes/1" },
  { method: "PUT", url: "/api/people/1/notes/1", payload: { content: "x" } },
  { method: "DELETE", url: "/api/people/1/notes/1" },
  { method: "GET", url: "/api/notes" },
];

function assertNothingLeaked(body: string): void {
  for (const fragment of ["people_secret", "/srv/app", "select", "token", "    at ", "Error:"]) {
    assert.ok(!body.includes(fragment), `the body leaks ${JSON.stringify(fragment)}: ${body}`);
  }
}

describe("failures the client did not cause", () => {
  test("an unexpected error is a 500 problem with no internals, logged at error level with its cause", async () => {
    const { app, lines } = await appWith(failingStore(() => new Error(SECRET)));
    try {
      for (const request of REQUESTS) {
        const response = await app.inject({ ...request, headers: { "x-request-id": `fail-${request.method}` } });
        assertMatchesContract(request.method, request.url, response);
        assert.equal(response.statusCode, 500, `${request.method} ${request.url}`);
        assert.deepEqual(response.json(), {
          type: "about:blank",
          title: "Internal Server Error",
          status: 500,
          detail: "The server could not complete the request",
        });
        assertNothingLeaked(response.body);
        const logged = lines.find((line) => line.reqId === `fail-${request.method}` && line.msg === "request failed");
        assert.equal(logged?.level, ERROR);
        assert.equal(logged?.err?.message, SECRET, "the cause is in the log, where an operator can find it");
      }
    } finally {
      await app.close();
    }
  });

  test("an unavailable database is a 503 problem with Retry-After, logged as a warning", async () => {
    const cause = Object.assign(new Error(SECRET), { code: "57P01" });
    const { app, lines } = await appWith(
      failingStore(() => new DatabaseUnavailableError("the database is busy or unreachable", { cause })),
    );
    try {
      for (const request of REQUESTS) {
        const response = await app.inject(request);
        assertMatchesContract(request.method, request.url, response);
        assert.equal(response.statusCode, 503, `${request.method} ${request.url}`);
        assert.equal(response.headers["retry-after"], "1");
        assert.equal(
          response.json().detail,
          "The database is busy or unavailable; nothing was changed; try again shortly",
        );
        assertNothingLeaked(response.body);
      }
      assert.ok(lines.some((line) => line.msg === "database unavailable" && line.level === WARN));
      assert.ok(!lines.some((line) => line.level >= ERROR), "an outage is not an application error");
    } finally {
      await app.close();
    }
  });

  test("a full disk is a 507 problem that says so, without Retry-After, logged at error level", async () => {
    const { app, lines } = await appWith(failingStore(() => new DatabaseFullError("the database's storage is full")));
    try {
      for (const request of REQUESTS.filter((r) => r.method !== "GET")) {
        const response = await app.inject(request);
        assertMatchesContract(request.method, request.url, response);
        assert.equal(response.statusCode, 507, `${request.method} ${request.url}`);
        assert.equal(response.headers["retry-after"], undefined, "retrying soon will not help");
        assert.match(response.json().detail, /storage is full/);
      }
      assert.ok(lines.some((line) => line.msg === "database storage is full" && line.level === ERROR));
    } finally {
      await app.close();
    }
  });

  test("readiness fails on a database that answers with an error, while liveness stays up", async () => {
    const { app } = await appWith(failingStore(() => new Error(SECRET)));
    try {
      const ready = await app.inject({ url: "/readyz" });
      assert.equal(ready.statusCode, 503);
      assertNothingLeaked(ready.body);
      assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
