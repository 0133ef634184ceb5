import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { type AccessOptions, buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { TokenService } from "../../src/domain/tokens.js";
import { closeRedis, openRedis } from "../../src/http/redis.js";
import {
  appOn,
  bearer,
  createDatabase,
  engines,
  json,
  sendJson,
  startApp,
  type TestApp,
  withStartedApp,
} from "../support/app.js";
import { freePort } from "../support/server-process.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function withApp(engine: "sqlite" | "postgres", access: AccessOptions, work: (app: TestApp) => Promise<void>) {
  return withStartedApp({ engine, access }, work);
}

const note = (content: string) => json({ content });

/** A write with a JSON body (or none) and, when given, the token. */
const send = (app: TestApp, method: "POST" | "PUT" | "DELETE", url: string, body?: object, token?: string) =>
  sendJson(app, method, url, body, token ? bearer(token) : {});

function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  assert.equal(JSON.parse(response.body).status, status);
}

for (const engine of engines()) {
  describe(`access control (${engine})`, () => {
    test("on loopback, before any token exists, writes are open and the session says so", () =>
      withApp(engine, {}, async (app) => {
        const created = await app.inject({ method: "POST", url: "/api/people/1/notes", ...note("Open") });
        assert.equal(created.statusCode, 201);
        const session = await app.inject({ url: "/api/session" });
        assert.deepEqual(session.json(), { access_control: false, principal: null });
      }));

    test("once a token exists, a write without one is 401 with a Bearer challenge; reads stay public", () =>
      withApp(engine, {}, async (app) => {
        await new TokenService(app.store).create({ kind: "admin", name: "ops" });
        const refused = await app.inject({ method: "POST", url: "/api/people/1/notes", ...note("Refused") });
        assertProblem(refused, 401);
        assert.equal(refused.headers["www-authenticate"], 'Bearer realm="people-notes"');
        assert.equal((await app.inject({ url: "/api/people/1" })).statusCode, 200);
        assert.equal((await app.inject({ url: "/api/session" })).json().access_control, true);
        const notes = (await app.inject({ url: "/api/people/1/notes?limit=100" })).json() as { content: string }[];
        assert.ok(!notes.some((n) => n.content === "Refused"), "nothing was written");
      }));

    test("on loopback, revoking the only token opens writes again; a token that has expired does too", () =>
      withApp(engine, {}, async (app) => {
        const tokens = new TokenService(app.store);
        const only = await tokens.create({ kind: "admin", name: "only" });
        assertProblem(await app.inject({ method: "POST", url: "/api/people/1/notes", ...note("Refused") }), 401);
        assert.equal(await tokens.revoke(only.row.token_id), true);
        const open = await app.inject({ method: "POST", url: "/api/people/1/notes", ...note("Open again") });
        assert.equal(open.statusCode, 201, "a revoked token no longer counts as a token");
        assert.equal((await app.inject({ url: "/api/session" })).json().access_control, false);

        await tokens.create({ kind: "admin", name: "expired", expiresAt: "2020-01-01T00:00:00.000Z" });
        await tokens.create({
          kind: "person",
          personId: 1,
          name: "expired too",
          expiresAt: "2021-06-01T00:00:00.000Z",
        });
        const expired = await app.inject({ method: "POST", url: "/api/people/1/notes", ...note("Open once more") });
        assert.equal(expired.statusCode, 201, "an expired token no longer counts as a token");
        assert.equal(await tokens.anyUsable("admin"), false, "nor does a revoked or expired admin token");
      }));

    test("a token is checked before the body: an unauthenticated bad request is 401, not 400", () =>
      withApp(engine, { mode: "always" }, async (app) => {
        const response = await app.inject({ method: "POST", url: "/api/people", ...json({ nonsense: true }) });
        assertProblem(response, 401);
      }));

    test("unknown, malformed, revoked and expired tokens are 401 invalid_token", () =>
      withApp(engine, { mode: "always" }, async (app) => {
        const tokens = new TokenService(app.store);
        const revoked = await tokens.create({ kind: "admin", name: "old" });
        assert.equal(await tokens.revoke(revoked.row.token_id), true);
        const expired = await tokens.create({ kind: "admin", name: "gone", expiresAt: "2020-01-01T00:00:00.000Z" });
        const unknown = `pn_AAAAAAAA_${"B".repeat(43)}`;
        for (const token of [unknown, revoked.token, expired.token, "not-a-token"]) {
          const response = await send(app, "POST", "/api/people/1/notes", { content: "No" }, token);
          assertProblem(response, 401);
          assert.equal(response.headers["www-authenticate"], 'Bearer realm="people-notes", error="invalid_token"');
        }
        const basic = await app.inject({
          method: "DELETE",
          url: "/api/people/1",
          headers: { authorization: "Basic eDp5" },
        });
        assertProblem(basic, 401);
      }));

    test("an admin token may do everything", () =>
      withApp(engine, { mode: "always" }, async (app) => {
        const { token } = await new TokenService(app.store).create({ kind: "admin", name: "ops" });
        const person = await send(app, "POST", "/api/people", { fname: "A", lname: "B" }, token);
        assert.equal(person.statusCode, 201, person.body);
        const { person_id } = person.json() as { person_id: number };
        assert.equal(
          (await send(app, "POST", `/api/people/${person_id}/notes`, { content: "Hi" }, token)).statusCode,
          201,
        );
        assert.equal(
          (await send(app, "PUT", "/api/people/2", { fname: "Kent", lname: "Brockman" }, token)).statusCode,
          200,
        );
        assert.equal((await send(app, "DELETE", `/api/people/${person_id}`, undefined, token)).statusCode, 204);
        const session = (await app.inject({ url: "/api/session", headers: bearer(token) })).json();
        assert.deepEqual(session.principal, {
          kind: "admin",
          name: "ops",
          prefix: session.principal.prefix,
          person: null,
        });
      }));

    test("a person token changes only its own person and notes; anything else is 403", () =>
      withApp(engine, { mode: "always" }, async (app) => {
        const { token } = await new TokenService(app.store).create({ kind: "person", personId: 1, name: "phone" });
        const mine = await send(app, "POST", "/api/people/1/notes", { content: "Mine" }, token);
        assert.equal(mine.statusCode, 201);
        const noteId = (mine.json() as { note_id: number }).note_id;
        assert.equal(
          (await send(app, "PUT", `/api/people/1/notes/${noteId}`, { content: "Still" }, token)).statusCode,
          200,
        );
        const renamed = await send(app, "PUT", "/api/people/1", { fname: "Doug", lname: "Farrell" }, token);
        assert.equal(renamed.statusCode, 200, renamed.body);
        assert.equal((await send(app, "DELETE", `/api/people/1/notes/${noteId}`, undefined, token)).statusCode, 204);

        const theirs: [method: "POST" | "PUT" | "DELETE", url: string, body?: object][] = [
          ["POST", "/api/people/2/notes", { content: "Not mine" }],
          ["PUT", "/api/people/2/notes/4", { content: "Not mine" }],
          ["DELETE", "/api/people/2/notes/4"],
          ["PUT", "/api/people/2", { fname: "X", lname: "Y" }],
          ["POST", "/api/people", { fname: "New", lname: "Person" }],
          ["DELETE", "/api/people/1"],
        ];
        for (const [method, url, body] of theirs) assertProblem(await send(app, method, url, body, token), 403);
        const session = (await app.inject({ url: "/api/session", headers: bearer(token) })).json();
        assert.deepEqual(session.principal.person, { person_id: 1, fname: "Doug", lname: "Farrell" });
        assert.equal((await app.inject({ url: "/api/people/2" })).json().fname, "Kent", "person 2 unchanged");
        assert.equal((await app.inject({ url: "/api/people/2/notes/4" })).statusCode, 200, "their note is still there");
      }));

    test("a token revoked through one process is refused by another on the same database", () =>
      withApp(engine, { mode: "always" }, async (first) => {
        const second = await appOn(first.database, first.database.openAnother(), { mode: "always" });
        try {
          const tokens = new TokenService(first.store);
          const { token, row } = await tokens.create({ kind: "admin", name: "shared" });
          assert.equal((await send(second, "POST", "/api/people/1/notes", { content: "x" }, token)).statusCode, 201);
          await tokens.revoke(row.token_id);
          assertProblem(await send(second, "POST", "/api/people/1/notes", { content: "y" }, token), 401);
        } finally {
          await second.app.close();
        }
      }));

    test("the request log line names the token by its prefix and its person, and never carries the secret", async () => {
      const database = await createDatabase(engine);
      const written: string[] = [];
      try {
        await prepareDatabase(database.store);
        const app = await buildApp({
          store: database.store,
          access: { mode: "always" },
          logger: { level: "info", stream: { write: (line: string) => written.push(line) } },
        });
        const { token, row } = await new TokenService(database.store).create({
          kind: "person",
          personId: 1,
          name: "log",
        });
        const response = await app.inject({
          method: "POST",
          url: "/api/people/1/notes",
          headers: { ...bearer(token), "content-type": "application/json" },
          payload: JSON.stringify({ content: "Logged" }),
        });
        assert.equal(response.statusCode, 201);
        const refused = await app.inject({
          method: "DELETE",
          url: "/api/people/1",
          headers: bearer(`pn_ZZZZZZZZ_${"q".repeat(43)}`),
        });
        assert.equal(refused.statusCode, 401);
        await app.close();
        const requests = written.map((line) => JSON.parse(line)).filter((line) => line.msg === "request completed");
        const [write, failed] = requests;
        assert.equal(write.token, row.prefix);
        assert.equal(write.tokenKind, "person");
        assert.equal(write.tokenPerson, 1);
        assert.equal(failed.token, "ZZZZZZZZ", "a refused token is logged by its prefix too");
        assert.ok(!written.join("").includes(token.slice(12)), "the secret is not logged");
        assert.ok(!written.join("").includes("q".repeat(43)), "nor a refused one's");
      } finally {
        await database.destroy();
      }
    });
  });

  describe(`rate limits (${engine})`, () => {
    test("writes beyond the limit get 429 with Retry-After and RateLimit headers, and change nothing", () =>
      withApp(engine, { rateLimits: { writesPerMinute: 3, failedSignInsPerMinute: 0 } }, async (app) => {
        const answers = [];
        for (let i = 0; i < 5; i++) {
          answers.push(await app.inject({ method: "POST", url: "/api/people/1/notes", ...note(`burst ${i}`) }));
        }
        assert.deepEqual(
          answers.map((a) => a.statusCode),
          [201, 201, 201, 429, 429],
        );
        const limited = answers[3];
        assert.ok(limited);
        assertProblem(limited, 429);
        assert.match(String(limited.headers["retry-after"]), /^[1-9][0-9]*$/);
        assert.equal(limited.headers["ratelimit-limit"], "3");
        assert.equal(limited.headers["ratelimit-remaining"], "0");
        assert.equal(answers[0]?.headers["ratelimit-remaining"], "2");
        const notes = (await app.inject({ url: "/api/people/1/notes?limit=100" })).json() as { content: string }[];
        assert.equal(notes.filter((n) => n.content.startsWith("burst")).length, 3);
      }));

    test("each token has its own write budget, even from one address", () =>
      withApp(
        engine,
        { mode: "always", rateLimits: { writesPerMinute: 2, failedSignInsPerMinute: 0 } },
        async (app) => {
          const tokens = new TokenService(app.store);
          const first = await tokens.create({ kind: "admin", name: "first" });
          const second = await tokens.create({ kind: "admin", name: "second" });
          const write = (token: string, i: number) =>
            send(app, "POST", "/api/people/1/notes", { content: `budget ${i}` }, token);
          const statuses = [];
          for (let i = 0; i < 3; i++) statuses.push((await write(first.token, i)).statusCode);
          for (let i = 3; i < 6; i++) statuses.push((await write(second.token, i)).statusCode);
          assert.deepEqual(statuses, [201, 201, 429, 201, 201, 429], "the second token's budget is its own");
        },
      ));

    test("a burst of bad tokens from one address meets 429s", () =>
      withApp(
        engine,
        { mode: "always", rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 30 } },
        async (app) => {
          const statuses: number[] = [];
          for (let i = 0; i < 200; i++) {
            const guess = `pn_${String(i).padStart(8, "0")}_${"x".repeat(43)}`;
            const response = await send(app, "DELETE", "/api/people/1", undefined, guess);
            statuses.push(response.statusCode);
          }
          assert.equal(statuses.filter((s) => s === 401).length, 30);
          assert.equal(statuses.filter((s) => s === 429).length, 170);
          assert.equal((await app.inject({ url: "/api/people/1" })).statusCode, 200, "the person is still there");
        },
      ));
  });
}

describe("rate limits shared through Redis", () => {
  test("two processes with one Redis count one limit", async () => {
    const redis = new Redis(REDIS_URL, {
      connectTimeout: 2_000,
      maxRetriesPerRequest: 1,
      keyPrefix: `test-${process.pid}-${Date.now()}-`,
    });
    const first = await startApp({
      engine: "sqlite",
      access: { redis, rateLimits: { writesPerMinute: 4, failedSignInsPerMinute: 0 } },
    });
    const second = await appOn(first.database, first.database.openAnother(), {
      redis,
      rateLimits: { writesPerMinute: 4, failedSignInsPerMinute: 0 },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const app = i % 2 === 0 ? first : second;
        statuses.push(
          (await app.inject({ method: "POST", url: "/api/people/1/notes", ...note(`shared ${i}`) })).statusCode,
        );
      }
      assert.deepEqual(statuses, [201, 201, 201, 201, 429, 429]);
    } finally {
      await second.app.close();
      await first.close();
      redis.disconnect();
    }
  });
});

describe("rate limits when Redis is away", () => {
  test("writes go through uncounted, and the outage is logged once", async () => {
    const warnings: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
    // A port nothing listens on: every connection attempt is refused.
    const redis = openRedis(`redis://127.0.0.1:${await freePort()}`, log);
    const app = await startApp({
      engine: "sqlite",
      access: { redis, rateLimits: { writesPerMinute: 1, failedSignInsPerMinute: 1 } },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await send(app, "POST", "/api/people/1/notes", { content: `unlimited ${i}` });
        assert.equal(answer.statusCode, 201, answer.body);
      }
      assert.equal(warnings.filter((line) => line.includes("Redis is not reachable")).length, 1);
    } finally {
      await app.close();
      await closeRedis(redis);
    }
  });
});

for (const engine of engines()) {
  describe(`token last use (${engine})`, () => {
    test("is recorded on use, at most once a minute", async () => {
      const database = await createDatabase(engine);
      try {
        await prepareDatabase(database.store);
        let now = new Date("2026-01-01T00:00:00.000Z");
        const tokens = new TokenService(database.store, () => now);
        const { token, row } = await tokens.create({ kind: "admin", name: "clock" });
        const lastUse = async () => (await tokens.list()).find((t) => t.token_id === row.token_id)?.last_used_at;
        assert.equal(await lastUse(), null);
        assert.ok(await tokens.authenticate(token));
        assert.equal(await lastUse(), "2026-01-01T00:00:00.000Z");
        now = new Date("2026-01-01T00:00:30.000Z");
        assert.ok(await tokens.authenticate(token));
        assert.equal(await lastUse(), "2026-01-01T00:00:00.000Z", "within the minute: not written again");
        now = new Date("2026-01-01T00:01:01.000Z");
        assert.ok(await tokens.authenticate(token));
        assert.equal(await lastUse(), "2026-01-01T00:01:01.000Z");
      } finally {
        await database.destroy();
      }
    });
  });
}
