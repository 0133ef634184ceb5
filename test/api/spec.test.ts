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

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  schema: Json;
}
interface OperationItem {
  parameters?: Json[];
  requestBody?: Json;
  security?: Record<string, string[]>[];
  responses?: Record<string, unknown>;
}

const operationItem = (operation: (typeof operations)[number]) =>
  (spec.paths[operation.template] as Record<string, OperationItem>)[operation.method.toLowerCase()] as OperationItem;

/** Follows `$ref`s within the contract. */
function resolved<T>(node: unknown): T {
  const ref = (node as Json | undefined)?.$ref;
  if (typeof ref !== "string") return node as T;
  const target = ref
    .slice(2)
    .split("/")
    .reduce<unknown>((at, segment) => (at as Json)[segment], spec);
  return resolved<T>(target);
}

/**
 * What the server may answer an operation, and why, from what the operation takes: its
 * parameters and body are validated (400), a body is read (408, 413, 415), a token is checked
 * (401, 403, 429), conditions are evaluated (304, 412, 428), ids are looked up (404), changes are
 * written (507), and any request may find the database away or the process overloaded (503) or
 * fail unexpectedly (500).
 */
function expectedAnswers(operation: (typeof operations)[number]): Map<string, string> {
  const item = operationItem(operation);
  const parameters = (item.parameters ?? []).map((parameter) => resolved<Parameter>(parameter));
  const expected = new Map<string, string>([
    ["500", "any request may fail unexpectedly"],
    ["503", "any request may be shed, or find the database away"],
  ]);
  if (parameters.length > 0 || item.requestBody) expected.set("400", "it takes parameters or a body");
  // Fastify reads a body sent with these before answering (a DELETE's only to ignore it).
  if (["POST", "PUT", "DELETE"].includes(operation.method)) expected.set("408", "a body may not arrive in time");
  if (item.requestBody) {
    expected.set("413", "its body may be too large");
    expected.set("415", "its body may not be JSON");
  }
  const roles = item.security?.find((requirement) => "bearerAuth" in requirement)?.bearerAuth;
  if (roles !== undefined) {
    expected.set("401", "it checks a token");
    expected.set("429", "failed sign-ins are limited");
    if (roles.length > 0) expected.set("403", "a valid token may not be allowed");
  }
  const names = new Set(parameters.map((parameter) => parameter.name));
  if (names.has("If-None-Match")) expected.set("304", "it takes If-None-Match");
  if (names.has("If-Match")) {
    expected.set("412", "it takes If-Match");
    expected.set("428", "If-Match may be required");
  }
  if (parameters.some((parameter) => parameter.in === "path")) expected.set("404", "it looks up an id");
  if (["POST", "PUT", "DELETE"].includes(operation.method)) expected.set("507", "it writes");
  return expected;
}

/** A value the schema refuses, as a parameter is sent: text. */
function invalidValue(schema: Json): string | undefined {
  if (typeof schema.maxLength === "number") return "x".repeat(schema.maxLength + 1);
  if (typeof schema.minimum === "number") return String(schema.minimum - 1);
  if (typeof schema.pattern === "string") return "!";
  if (Array.isArray(schema.enum)) return "none-of-these";
  return undefined;
}

/** A body the operation accepts (its required text fields filled in), so that only the parameter is wrong. */
function validBody(operation: (typeof operations)[number]): string {
  const content = resolved<Json>(operationItem(operation).requestBody).content as Record<string, { schema: Json }>;
  const schema = resolved<{ required?: string[] }>(content["application/json"]?.schema);
  return JSON.stringify(Object.fromEntries((schema.required ?? []).map((field) => [field, "Valid"])));
}

/** The operations of issue 2, as the tutorial names them, and those added since (accounts, note history, webhooks). */
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
  "GET /people/{person_id}/notes/{note_id}/revisions notes.revisions",
  "GET /people/{person_id}/notes/{note_id}/revisions/{version} notes.revision",
  "POST /people/{person_id}/notes/{note_id}/revisions/{version}/restore notes.restore_revision",
  "GET /session session.read",
  "GET /events events.stream",
  "GET /export export.read_all",
  "GET /account account.read",
  "POST /account/sign-in account.sign_in",
  "POST /account/passkey/options account.passkey_options",
  "POST /account/passkey/verify account.passkey_verify",
  "POST /account/sign-out account.sign_out",
  "GET /account/sessions account.sessions",
  "DELETE /account/sessions/{session_id} account.end_session",
  "GET /account/passkeys account.passkeys",
  "PUT /account/passkeys/{passkey_id} account.rename_passkey",
  "DELETE /account/passkeys/{passkey_id} account.remove_passkey",
  "PUT /account/password account.change_password",
  "POST /invites invites.create",
  "POST /invites/accept invites.accept",
  "GET /tokens tokens.read_all",
  "POST /tokens tokens.create",
  "DELETE /tokens/{token_id} tokens.delete",
  "GET /trash trash.read_all",
  "POST /trash/{trash_id}/restore trash.restore",
  "DELETE /trash/{trash_id} trash.purge",
  "GET /webhooks webhooks.read_all",
  "POST /webhooks webhooks.create",
  "PUT /webhooks/{webhook_id} webhooks.update",
  "DELETE /webhooks/{webhook_id} webhooks.delete",
  "POST /webhooks/{webhook_id}/secret webhooks.rotate_secret",
  "GET /webhooks/{webhook_id}/deliveries webhooks.deliveries",
  "POST /webhooks/{webhook_id}/replay webhooks.replay",
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

  test("every operation documents every answer the server can give it", () => {
    const missing: string[] = [];
    for (const operation of operations) {
      const item = operationItem(operation);
      const responses = Object.keys(item.responses ?? {});
      for (const [status, why] of expectedAnswers(operation)) {
        if (!responses.includes(status)) missing.push(`${operation.operationId} does not list ${status} (${why})`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("every operation a token may call may be called signed in too, with the same scopes", () => {
    // Operations where a session cookie makes no sense, with the reason: none today.
    const TOKEN_ONLY = new Map<string, string>();
    const differing: string[] = [];
    for (const operation of operations) {
      const security = operationItem(operation).security ?? [];
      const bearer = security.find((requirement) => "bearerAuth" in requirement)?.bearerAuth;
      if (bearer === undefined || TOKEN_ONLY.has(operation.operationId)) continue;
      const cookie = security.find((requirement) => "cookieAuth" in requirement)?.cookieAuth;
      if (cookie === undefined) differing.push(`${operation.operationId} declares bearerAuth but not cookieAuth`);
      else if (JSON.stringify([...cookie].sort()) !== JSON.stringify([...bearer].sort()))
        differing.push(`${operation.operationId} asks bearerAuth for [${bearer}] but cookieAuth for [${cookie}]`);
    }
    assert.deepEqual(differing, []);
  });

  test("every parameter's invalid value is a 400 the operation documents", async () => {
    let sent = 0;
    for (const operation of operations) {
      for (const parameter of operationItem(operation).parameters ?? []) {
        const { name, in: where, schema } = resolved<Parameter>(parameter);
        const invalid = invalidValue(resolved<Json>(schema));
        assert.ok(invalid !== undefined, `${operation.operationId}: no invalid value for ${name}`);
        const values = (place: string) => (where === place ? { [name]: invalid } : {});
        let url = `${API_PREFIX}${operation.template}`;
        for (const [param, value] of Object.entries({
          person_id: "1",
          note_id: "1",
          version: "1",
          trash_id: "1",
          webhook_id: "1",
          ...values("path"),
        })) {
          url = url.replace(`{${param}}`, encodeURIComponent(value));
        }
        const query = new URLSearchParams(values("query")).toString();
        const body = operationItem(operation).requestBody ? { payload: validBody(operation) } : {};
        const response = await started.inject({
          method: operation.method as "GET",
          url: query ? `${url}?${query}` : url,
          // A body-less operation (a restore) gets no content type: an empty JSON body is a 400 of its own.
          headers: {
            ...(body.payload === undefined ? {} : { "content-type": "application/json" }),
            ...values("header"),
          },
          ...body,
          // An event stream that wrongly opened would never end.
          signal: AbortSignal.timeout(10_000),
        });
        // started.inject has checked that the operation documents the answer.
        assert.equal(response.statusCode, 400, `${operation.operationId} with ${where} ${name}: ${response.body}`);
        const errors = response.json<{ errors?: { in: string; pointer?: string }[] }>().errors ?? [];
        const pointer = `/${where === "header" ? name.toLowerCase() : name}`;
        assert.ok(
          errors.some((error) => error.in === where && error.pointer === pointer),
          `${operation.operationId}: the problem names ${where} ${name}: ${response.body}`,
        );
        sent++;
      }
    }
    assert.ok(sent >= operations.length, "parameters were found");
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
