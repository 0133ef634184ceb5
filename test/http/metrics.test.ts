import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { TokenService } from "../../src/domain/tokens.js";
import { createDatabase, engines } from "../support/app.js";

/** The value of one sample line, e.g. `http_requests_total{operation="people.read_one",…}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

for (const engine of engines()) {
  describe(`/metrics (${engine})`, () => {
    test("counts requests by operationId and status, never by raw URL, with latency, pool and process figures", async () => {
      const database = await createDatabase(engine);
      try {
        await prepareDatabase(database.store);
        const app = await buildApp({ store: database.store });
        for (const id of [1, 2, 3, 99]) await app.inject({ url: `/api/people/${id}` });
        await app.inject({ url: "/api/people/1/notes/1" });
        const response = await app.inject({ url: "/metrics" });
        await app.close();
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
        const text = response.body;
        const readOne = { operation: "people.read_one", method: "GET" };
        assert.equal(sample(text, "http_requests_total", { ...readOne, status: "200" }), 3);
        assert.equal(sample(text, "http_requests_total", { ...readOne, status: "404" }), 1);
        assert.equal(sample(text, "http_requests_total", { operation: "notes.read_one", status: "200" }), 1);
        assert.equal(sample(text, "http_request_duration_seconds_count", { ...readOne, status: "200" }), 3);
        assert.ok(!text.includes("/api/people/1"), "no raw URL in any label");
        assert.equal(typeof sample(text, "db_pool_connections", { state: "open" }), "number");
        assert.ok((sample(text, "process_cpu_user_seconds_total") ?? -1) >= 0, "process metrics");
        if (engine === "postgres") assert.ok((sample(text, "db_pool_acquired_total") ?? 0) >= 5);
      } finally {
        await database.destroy();
      }
    });
  });
}

describe("/metrics settings", () => {
  test("refused to a client beyond loopback by default; served to it when allowed; absent when off", async () => {
    const database = await createDatabase("sqlite");
    try {
      await prepareDatabase(database.store);
      const remote = { url: "/metrics", remoteAddress: "203.0.113.9" };
      const guarded = await buildApp({ store: database.store });
      const refused = await guarded.inject(remote);
      assert.equal(refused.statusCode, 403);
      assert.match(String(refused.headers["content-type"]), /^application\/problem\+json/);
      await guarded.close();
      const open = await buildApp({ store: database.store, metrics: { enabled: true, loopbackOnly: false } });
      assert.equal((await open.inject(remote)).statusCode, 200);
      await open.close();
      const off = await buildApp({ store: database.store, metrics: { enabled: false, loopbackOnly: true } });
      assert.equal((await off.inject({ url: "/metrics" })).statusCode, 404);
      await off.close();
    } finally {
      await database.destroy();
    }
  });

  test("rate-limit refusals are counted by limit", async () => {
    const database = await createDatabase("sqlite");
    try {
      await prepareDatabase(database.store);
      await new TokenService(database.store).create({ kind: "admin", name: "ops" });
      const app = await buildApp({
        store: database.store,
        access: { rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 2 } },
      });
      for (let i = 0; i < 5; i++) await app.inject({ method: "DELETE", url: "/api/people/1" });
      const text = (await app.inject({ url: "/metrics" })).body;
      await app.close();
      assert.equal(sample(text, "rate_limit_refusals_total", { limit: "sign-ins" }), 3);
      assert.equal(sample(text, "http_requests_total", { operation: "people.delete", status: "429" }), 3);
    } finally {
      await database.destroy();
    }
  });
});
