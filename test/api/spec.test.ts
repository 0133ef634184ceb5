import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance, RouteOptions } from "fastify";
import { specPath, webDistPath } from "../../src/paths.js";
import { startApp, type TestApp } from "../support/app.js";
import {
  API_PREFIX,
  assertMatchesContract,
  type ContractResponse,
  DOCUMENTATION_PATHS,
  operations,
  spec,
} from "../support/contract.js";

/** The operations of issue 2, as the tutorial names them. */
const CONTRACT = [
  "GET /people people.read_all",
  "POST /people people.create",
  "GET /people/{person_id} people.read_one",
  "PUT /people/{person_id} people.update",
  "DELETE /people/{person_id} people.delete",
  "GET /notes notes.read_all",
  "GET /people/{person_id}/notes notes.read_by_person",
  "POST /people/{person_id}/notes notes.create",
  "GET /people/{person_id}/notes/{note_id} notes.read_one",
  "PUT /people/{person_id}/notes/{note_id} notes.update",
  "DELETE /people/{person_id}/notes/{note_id} notes.delete",
  "GET /session session.read",
  "GET /events events.stream",
  "GET /export export.read_all",
];

describe("the contract document", () => {
  let started: TestApp;
  const routes: { method: string; url: string }[] = [];

  before(async () => {
    // Fastify announces each new instance before any route exists; record every route it then gets.
    const record = (message: unknown) => {
      const { fastify } = message as { fastify: FastifyInstance };
      fastify.addHook("onRoute", (route: RouteOptions) => {
        for (const method of [route.method].flat()) routes.push({ method, url: route.url });
      });
    };
    subscribe("fastify.initialization", record);
    try {
      started = await startApp({ engine: "sqlite" });
    } finally {
      unsubscribe("fastify.initialization", record);
    }
  });
  after(() => started.close());

  test("lists exactly the operations of the API, named after the tutorial's", () => {
    assert.deepEqual(operations.map((o) => `${o.method} ${o.template} ${o.operationId}`).sort(), [...CONTRACT].sort());
    assert.equal(spec.openapi, "3.1.0");
  });

  test("is served as JSON at /api/openapi.json", async () => {
    const response = await started.inject({ method: "GET", url: "/api/openapi.json" });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    assert.deepEqual(response.json(), spec);
  });

  test("is served as YAML at /api/openapi.yaml, byte for byte", async () => {
    const response = await started.inject({ method: "GET", url: "/api/openapi.yaml" });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^application\/yaml/);
    assert.equal(response.body, readFileSync(specPath, "utf8"));
  });

  test("every route the app serves under /api is an operation of the contract", () => {
    const served = routes.filter(
      (r) => r.url.startsWith(`${API_PREFIX}/`) && !DOCUMENTATION_PATHS.some((pattern) => pattern.test(r.url)),
    );
    assert.ok(served.length >= operations.length, "the routes were recorded");
    const documented = new Set(operations.map((o) => `${o.method} ${API_PREFIX}${o.template}`));
    for (const route of served) {
      const template = route.url.replace(/:([A-Za-z_]+)/g, "{$1}");
      const method = route.method === "HEAD" ? "GET" : route.method;
      assert.ok(
        documented.has(`${method} ${template}`),
        `${route.method} ${route.url} is served but not in the contract`,
      );
    }
  });

  test("every operation of the contract is served", () => {
    const served = new Set(routes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, "{$1}")}`));
    for (const operation of operations) {
      const route = `${operation.method} ${API_PREFIX}${operation.template}`;
      assert.ok(served.has(route), `${route} (${operation.operationId}) is in the contract but not served`);
    }
  });

  test("outside /api the app serves only health checks, metrics and the web app", () => {
    const others = routes.filter((r) => r.url !== API_PREFIX && !r.url.startsWith(`${API_PREFIX}/`));
    for (const route of others) {
      const builtFile = existsSync(join(webDistPath, route.url)) && route.url !== "/";
      assert.ok(
        ["/healthz", "/readyz", "/metrics", "/"].includes(route.url) || builtFile,
        `${route.method} ${route.url}`,
      );
      assert.ok(["GET", "HEAD"].includes(route.method), `${route.method} ${route.url}`);
    }
  });
});

describe("Swagger UI", () => {
  let started: TestApp;
  before(async () => {
    started = await startApp({ engine: "sqlite" });
  });
  after(() => started.close());

  test("is served at /api/ui/ and loads only same-origin scripts and styles", async () => {
    const page = await started.inject({ method: "GET", url: "/api/ui/" });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0);
    const urls: string[] = [];
    for (const [, attributes = "", inline = ""] of scripts) {
      const src = /\bsrc\s*=\s*["']([^"']+)["']/i.exec(attributes)?.[1];
      assert.ok(src, "every script is a file, none inline");
      assert.equal(inline.trim(), "", "no inline script");
      urls.push(src);
    }
    for (const [, href = ""] of page.body.matchAll(/<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']/gi)) urls.push(href);
    for (const url of urls) {
      const resolved = new URL(url, "http://people-notes.test/api/ui/");
      assert.equal(resolved.origin, "http://people-notes.test", `${url} is same-origin`);
      const asset = await started.inject({ method: "GET", url: resolved.pathname });
      assert.equal(asset.statusCode, 200, `${resolved.pathname} is served`);
    }
    assert.match(String(page.headers["content-security-policy"]), /script-src 'self'(;|$)/);
  });

  test("points at this service's own contract", async () => {
    const page = await started.inject({ method: "GET", url: "/api/ui/" });
    const initializer = /src=["']([^"']*swagger-initializer\.js)["']/.exec(page.body)?.[1];
    assert.ok(initializer);
    const script = await started.inject({
      method: "GET",
      url: new URL(initializer, "http://people-notes.test/api/ui/").pathname,
    });
    assert.equal(script.statusCode, 200);
    const code = script.body.replace(/^\s*\/\/.*$/gm, "");
    assert.doesNotMatch(code, /https?:\/\//, "no remote URL");
    assert.match(code, /url: resolveUrl\('\.\/json'\)/);
    const loaded = await started.inject({ method: "GET", url: "/api/ui/json" });
    assert.equal(loaded.statusCode, 200);
    assert.deepEqual(loaded.json(), spec);
  });
});

describe("response validation against the contract", () => {
  const json = (statusCode: number, body: unknown, type = "application/json"): ContractResponse => ({
    statusCode,
    headers: { "content-type": `${type}; charset=utf-8` },
    body: JSON.stringify(body),
  });
  const person = {
    person_id: 1,
    fname: "Doug",
    lname: "Farrell",
    timestamp: "2019-01-06T22:17:54.000Z",
    notes: [{ note_id: 1, person_id: 1, content: "Hi", timestamp: "2019-01-06T22:17:54.000Z" }],
  };
  const problem = { type: "about:blank", title: "Not Found", status: 404, detail: "Person not found for Id: 9" };

  test("accepts a response the contract documents", () => {
    assertMatchesContract("GET", "/api/people/1", json(200, person));
    assertMatchesContract("GET", "/api/people?limit=1", json(200, [person]));
    assertMatchesContract("GET", "/api/people/9", json(404, problem, "application/problem+json"));
    assertMatchesContract("DELETE", "/api/people/1", { statusCode: 204, headers: {}, body: "" });
  });

  test("refuses a body that does not match the schema", () => {
    const { notes: _notes, ...withoutNotes } = person;
    for (const body of [
      withoutNotes,
      { ...person, timestamp: "2019-01-06 22:17:54" },
      { ...person, person_id: "1" },
      { ...person, secret: "leaked" },
      { ...person, notes: Array.from({ length: 21 }, () => person.notes[0]) },
    ]) {
      assert.throws(() => assertMatchesContract("GET", "/api/people/1", json(200, body)), assert.AssertionError);
    }
  });

  test("refuses a status the operation does not document", () => {
    const tooLarge = { ...problem, status: 413, title: "Payload Too Large" };
    assert.throws(() => assertMatchesContract("GET", "/api/people/1", json(413, tooLarge, "application/problem+json")));
    const full = { ...problem, status: 507, title: "Insufficient Storage" };
    assert.throws(() => assertMatchesContract("GET", "/api/people/1", json(507, full, "application/problem+json")));
    assert.throws(() => assertMatchesContract("DELETE", "/api/people/1", json(200, person)));
  });

  test("refuses the wrong content type, and a body where none is documented", () => {
    assert.throws(() => assertMatchesContract("GET", "/api/people/1", json(200, person, "text/html")));
    assert.throws(() => assertMatchesContract("GET", "/api/people/9", json(404, problem)));
    assert.throws(() =>
      assertMatchesContract("DELETE", "/api/people/1", { statusCode: 204, headers: {}, body: "Person 1 deleted" }),
    );
  });

  test("refuses a problem whose status is not the response's", () => {
    assert.throws(() =>
      assertMatchesContract("GET", "/api/people/9", json(404, { ...problem, status: 400 }, "application/problem+json")),
    );
  });

  test("refuses a header that does not match its schema", () => {
    const response = json(200, [person]);
    response.headers["x-total-count"] = "many";
    assert.throws(() => assertMatchesContract("GET", "/api/people", response));
  });

  test("requires 405 with Allow on a known path and a 404 problem elsewhere under /api", () => {
    const notAllowed = { ...problem, status: 405, title: "Method Not Allowed" };
    assert.throws(() =>
      assertMatchesContract("PATCH", "/api/people/1", json(405, notAllowed, "application/problem+json")),
    );
    const allowed = json(405, notAllowed, "application/problem+json");
    allowed.headers.allow = "GET, PUT, DELETE, HEAD";
    assertMatchesContract("PATCH", "/api/people/1", allowed);
    assert.throws(() => assertMatchesContract("GET", "/api/secret", json(200, { ok: true })));
  });

  test("leaves paths outside the API alone", () => {
    assertMatchesContract("GET", "/healthz", json(200, { status: "ok" }));
    assertMatchesContract("GET", "/api/openapi.json", json(200, spec));
  });
});
