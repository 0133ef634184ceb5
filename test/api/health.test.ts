import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, startApp, useApp } from "../support/app.js";
import { assertProblem } from "../support/assertions.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const engine of engines()) {
  describe(`health checks (${engine})`, () => {
    const api = useApp(engine);

    test("/healthz answers 200 while the process is alive", async () => {
      const response = await api.get("/healthz");
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { status: "ok" });
    });

    test("/readyz answers 200 when the database is reachable", async () => {
      const response = await api.get("/readyz");
      assert.equal(response.statusCode, 200);
      const { status, connections } = response.json();
      assert.equal(status, "ready");
      assert.equal(connections.waiting, 0, "nothing waits for a connection once the ping is answered");
      assert.equal(connections.idle, connections.open, "the ping's connection is back in the pool");
      assert.ok(connections.open >= 1);
    });

    test("/readyz answers 503 when the database is closed, while /healthz stays 200", async () => {
      const started = await startApp({ engine });
      try {
        await started.store.close();
        const response = await started.inject({ method: "GET", url: "/readyz" });
        assertProblem(response, 503, "The database is not reachable");
        assert.ok(response.headers["retry-after"]);
        assert.equal((await started.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
      } finally {
        await started.close();
      }
    });
  });

  describe(`request ids and security headers (${engine})`, () => {
    const api = useApp(engine);

    test("a caller's request id is echoed back", async () => {
      for (const url of ["/api/people", "/healthz", "/api/nowhere"]) {
        const response = await api.get(url, { "x-request-id": "trace-42.abc_DEF" });
        assert.equal(response.headers["x-request-id"], "trace-42.abc_DEF");
      }
    });

    test("a request without an id gets a new one, different each time", async () => {
      const first = String((await api.get("/api/people")).headers["x-request-id"]);
      const second = String((await api.get("/api/people")).headers["x-request-id"]);
      assert.match(first, UUID);
      assert.match(second, UUID);
      assert.notEqual(first, second);
    });

    test("a request id that is not a plain token is replaced", async () => {
      for (const given of ["has spaces", "x".repeat(65), "<script>", "a\u00e9b"]) {
        const response = await api.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": given } });
        assert.match(String(response.headers["x-request-id"]), UUID, given);
      }
    });

    test("every response carries nosniff and a content security policy", async () => {
      const responses = [
        await api.get("/api/people"),
        await api.get("/api/people/999"),
        await api.post("/api/people", {}),
        await api.get("/healthz"),
        await api.get("/api/ui/"),
        await api.get("/api/openapi.json"),
      ];
      for (const response of responses) {
        assert.equal(response.headers["x-content-type-options"], "nosniff");
        const policy = String(response.headers["content-security-policy"]);
        assert.match(policy, /default-src 'self'/);
        assert.match(policy, /script-src 'self'(;|$)/);
        assert.match(policy, /frame-ancestors 'none'/);
      }
    });

    test("no response allows every origin", async () => {
      const response = await api.get("/api/people", { origin: "https://evil.example" });
      assert.equal(response.headers["access-control-allow-origin"], undefined);
    });
  });
}
