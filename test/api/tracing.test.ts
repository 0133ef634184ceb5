/**
 * OpenTelemetry tracing: the SDK started as the server starts it, exporting over OTLP/HTTP to a
 * receiver in this process, and the app and store built with its tracer, on both engines.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildApp } from "../../src/app.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { startTracing, type Tracing } from "../../src/telemetry.js";
import { createDatabase, type Engine, engines, type TestDatabase } from "../support/app.js";
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from "../support/otlp-receiver.js";
import { startServer } from "../support/server-process.js";

const DB_SYSTEM: Record<Engine, string> = { sqlite: "sqlite", postgres: "postgresql" };
const SERVER_TIMING = /^db;dur=(\d+\.\d), total;dur=(\d+\.\d)$/;

let receiver: OtlpReceiver;
let tracing: Tracing;

before(async () => {
  receiver = await startOtlpReceiver();
  const { tracing: settings } = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "people-notes-under-test",
  });
  assert.ok(settings, "tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT is set");
  tracing = await startTracing(settings, pino({ level: "silent" }));
});
after(async () => {
  await tracing.shutdown();
  await receiver.close();
});

const newTraceparent = () => {
  const traceId = randomBytes(16).toString("hex");
  const parentId = randomBytes(8).toString("hex");
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
};

/** The app as the server builds it with tracing on, its log lines kept as objects. */
async function tracedApp(engine: Engine, { trustProxy }: { trustProxy?: string[] } = {}) {
  const database = await createDatabase(engine, tracing.tracer);
  await prepareDatabase(database.store);
  const lines: Record<string, unknown>[] = [];
  const app = await buildApp({
    store: database.store,
    tracer: tracing.tracer,
    ...(trustProxy ? { access: { trustProxy } } : {}),
    logger: { level: "info", stream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
  });
  await app.ready();
  return { database, app, lines };
}

const ancestors = (span: ReceivedSpan, spans: ReceivedSpan[]): string[] => {
  const chain: string[] = [];
  let parent = spans.find((other) => other.spanId === span.parentSpanId);
  while (parent && chain.length < spans.length) {
    chain.push(parent.spanId);
    parent = spans.find((other) => other.spanId === parent?.parentSpanId);
  }
  return chain;
};

for (const engine of engines()) {
  describe(`tracing on, ${engine}`, () => {
    let database: TestDatabase;
    let app: FastifyInstance;
    let lines: Record<string, unknown>[];
    before(async () => {
      ({ database, app, lines } = await tracedApp(engine));
    });
    after(async () => {
      await app.close();
      await database.destroy();
    });

    test("one request is one trace: the caller's traceparent, then the HTTP, handler and database spans", async () => {
      const { traceId, parentId, traceparent } = newTraceparent();
      const lname = `Traced ${randomBytes(4).toString("hex")}`;
      const response = await app.inject({
        method: "POST",
        url: "/api/people",
        payload: { fname: "Ada", lname },
        headers: { traceparent, tracestate: "people=notes", "x-request-id": `traced-${traceId}` },
      });
      assert.equal(response.statusCode, 201, response.body);
      await tracing.flush();
      const all = await receiver.waitFor((spans) =>
        spans.some((span) => span.traceId === traceId && span.kind === SPAN_KIND.SERVER),
      );
      const spans = all.filter((span) => span.traceId === traceId);

      const servers = spans.filter((span) => span.kind === SPAN_KIND.SERVER);
      assert.equal(servers.length, 1, JSON.stringify(spans));
      const [server] = servers as [ReceivedSpan];
      assert.equal(server.parentSpanId, parentId, "the server span continues the caller's trace");
      assert.equal(server.traceState, "people=notes", "and keeps its tracestate");
      assert.equal(server.name, "POST /api/people");
      assert.equal(server.service, "people-notes-under-test");
      assert.equal(server.attributes["http.request.method"], "POST");
      assert.equal(server.attributes["http.route"], "/api/people");
      assert.equal(server.attributes["url.path"], "/api/people");
      assert.equal(server.attributes["http.response.status_code"], 201);

      const handler = spans.find((span) => span.name === "people.create");
      assert.ok(handler, `a handler span named by the operationId: ${JSON.stringify(spans.map((s) => s.name))}`);
      assert.equal(handler.parentSpanId, server.spanId);

      const queries = spans.filter((span) => span.attributes["db.system.name"] === DB_SYSTEM[engine]);
      assert.ok(queries.length > 0, `database spans: ${JSON.stringify(spans.map((s) => s.name))}`);
      for (const query of queries) {
        assert.equal(query.kind, SPAN_KIND.CLIENT);
        assert.ok(ancestors(query, spans).includes(handler.spanId), `${query.name} is under the handler`);
      }
      const insert = queries.find((span) => /insert into "person"/i.test(String(span.attributes["db.query.text"])));
      assert.ok(insert, `the insert is a span: ${JSON.stringify(queries.map((q) => q.attributes["db.query.text"]))}`);
      assert.equal(insert.name, "INSERT person");
      for (const span of spans) {
        assert.ok(!JSON.stringify(span).includes(lname), `no user data in ${span.name}`);
      }
    });

    test("the request's log lines carry its trace id", async () => {
      const { traceId, traceparent } = newTraceparent();
      const requestId = `logged-${traceId}`;
      const response = await app.inject({ url: "/api/people", headers: { traceparent, "x-request-id": requestId } });
      assert.equal(response.statusCode, 200);
      const logged = lines.filter((line) => line.reqId === requestId);
      assert.ok(logged.length > 0, "the request is logged");
      for (const line of logged) assert.equal(line.trace_id, traceId, JSON.stringify(line));
    });

    test("Server-Timing gives the time in the database and in total", async () => {
      const response = await app.inject({ url: "/api/people/1/notes" });
      assert.equal(response.statusCode, 200);
      const timing = SERVER_TIMING.exec(String(response.headers["server-timing"]));
      assert.ok(timing, `Server-Timing: ${response.headers["server-timing"]}`);
      const [, db, total] = timing.map(Number) as [number, number, number];
      assert.ok(db <= total, `database ${db} ms within the total ${total} ms`);
      assert.ok(total > 0);
    });

    test("a request without traceparent starts a trace of its own", async () => {
      const requestId = `untraced-${randomBytes(4).toString("hex")}`;
      const response = await app.inject({ url: "/api/people", headers: { "x-request-id": requestId } });
      assert.equal(response.statusCode, 200);
      const traceId = lines.find((line) => line.reqId === requestId)?.trace_id;
      assert.match(String(traceId), /^[0-9a-f]{32}$/);
      await tracing.flush();
      const spans = await receiver.waitFor((all) =>
        all.some((span) => span.traceId === traceId && span.kind === SPAN_KIND.SERVER),
      );
      const server = spans.find((span) => span.traceId === traceId && span.kind === SPAN_KIND.SERVER);
      assert.equal(server?.parentSpanId ?? "", "", "a root span");
      assert.equal(server?.name, "GET /api/people");
    });
  });
}

describe("tracing behind a trusted proxy", () => {
  test("the span's client is the forwarded one, its peer the proxy, its scheme the forwarded one", async () => {
    const proxy = "10.0.0.7";
    const { database, app, lines } = await tracedApp("sqlite", { trustProxy: [proxy] });
    try {
      const requestId = `proxied-${randomBytes(4).toString("hex")}`;
      const response = await app.inject({
        url: "/api/people",
        remoteAddress: proxy,
        headers: { "x-request-id": requestId, "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" },
      });
      assert.equal(response.statusCode, 200);
      const traceId = lines.find((line) => line.reqId === requestId)?.trace_id;
      await tracing.flush();
      const spans = await receiver.waitFor((all) =>
        all.some((span) => span.traceId === traceId && span.kind === SPAN_KIND.SERVER),
      );
      const server = spans.find((span) => span.traceId === traceId && span.kind === SPAN_KIND.SERVER);
      assert.equal(server?.attributes["client.address"], "203.0.113.9");
      assert.equal(server?.attributes["network.peer.address"], proxy);
      assert.equal(server?.attributes["url.scheme"], "https");
    } finally {
      await app.close();
      await database.destroy();
    }
  });
});

describe("tracing off", () => {
  test("is the default, and OTEL_SDK_DISABLED turns it off whatever the endpoint", () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.equal(loadConfig({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }).tracing, undefined);
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" }).tracing,
      undefined,
    );
  });

  test("an app and store without a tracer make no spans, send nothing, and add no header or trace id", async () => {
    // The SDK is registered in this process: off is the server not asking for spans at all.
    const database = await createDatabase("sqlite");
    const lines: Record<string, unknown>[] = [];
    const app = await buildApp({
      store: database.store,
      logger: { level: "info", stream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
    });
    try {
      await prepareDatabase(database.store);
      await tracing.flush();
      const sent = receiver.requests.length;
      const { traceId, traceparent } = newTraceparent();
      const response = await app.inject({
        method: "POST",
        url: "/api/people",
        payload: { fname: "Off", lname: traceId },
        headers: { traceparent, "x-request-id": `off-${traceId}` },
      });
      assert.equal(response.statusCode, 201);
      await tracing.flush();
      assert.equal(receiver.requests.length, sent, "no export");
      assert.equal(response.headers["server-timing"], undefined);
      const logged = lines.filter((line) => line.reqId === `off-${traceId}`);
      assert.ok(logged.length > 0);
      for (const line of logged) assert.equal(line.trace_id, undefined);
    } finally {
      await app.close();
      await database.destroy();
    }
  });
});

describe("tracing settings", () => {
  test("the endpoint: the general one gets /v1/traces, the traces one is used as it is", () => {
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing?.url,
      "http://collector:4318/v1/traces",
    );
    assert.equal(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/in",
      }).tracing?.url,
      "https://traces.example/in",
    );
    const settings = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }).tracing;
    assert.equal(settings?.protocol, "http/protobuf");
    assert.equal(settings?.sampler, "parentbased_always_on");
    assert.equal(settings?.serviceName, undefined);
  });

  test("a bad value is a ConfigError naming the variable and what it takes", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
    const cases: [Record<string, string>, RegExp][] = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, /^OTEL_EXPORTER_OTLP_ENDPOINT must be an http/],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "grpc://c:4317" }, /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http/],
      [
        { ...on, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
        /^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json/,
      ],
      [{ ...on, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "json" }, /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be/],
      [{ ...on, OTEL_TRACES_SAMPLER: "sometimes" }, /^OTEL_TRACES_SAMPLER must be one of always_on, /],
      [
        { ...on, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" },
        /^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/,
      ],
      [{ ...on, OTEL_SDK_DISABLED: "yes" }, /^OTEL_SDK_DISABLED must be true or false/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
        JSON.stringify(env),
      );
    }
    assert.equal(
      loadConfig({ ...on, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).tracing?.samplerRatio,
      0.25,
    );
  });
});

describe("the server process with tracing on", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "people-notes-tracing-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("sends the spans of its requests by default as protobuf, the last of them in the drain", async () => {
    const collector = await startOtlpReceiver();
    const server = await startServer({
      DATABASE_URL: `sqlite:${join(dir, "drain.db")}`,
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // No batch leaves on a timer during the test: only the drain can send these spans.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    });
    try {
      const { traceId, traceparent } = newTraceparent();
      const response = await fetch(`${server.url}/api/people`, { headers: { traceparent } });
      assert.equal(response.status, 200);
      assert.match(String(response.headers.get("server-timing")), SERVER_TIMING);
      assert.equal(collector.requests.length, 0, "nothing sent before the drain");
      assert.equal(await server.stop(), 0, server.output());
      const exports = collector.requests.filter((request) => request.path === "/v1/traces");
      assert.ok(exports.length > 0, `the drain sent the spans:\n${server.output()}`);
      for (const sent of exports) assert.equal(sent.contentType, "application/x-protobuf");
      const traceBytes = Buffer.from(traceId, "hex");
      assert.ok(
        exports.some((sent) => sent.body.includes(traceBytes)),
        "the request's trace id is in what was sent",
      );
      const logged = server
        .stdout()
        .split("\n")
        .filter((line) => line.includes('"request completed"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(
        logged.some((line) => line.trace_id === traceId),
        `the request's line carries its trace id:\n${server.stdout()}`,
      );
    } finally {
      await server.kill();
      await collector.close();
    }
  });

  test("a collector that never answers holds up neither the requests nor the drain", async () => {
    // It takes connections and never answers them.
    const silent = createNetServer(() => {});
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const { port } = silent.address() as { port: number };
    const server = await startServer({
      DATABASE_URL: `sqlite:${join(dir, "silent.db")}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: "10",
    });
    try {
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`${server.url}/api/people`, {
          headers: { traceparent: newTraceparent().traceparent },
        });
        assert.equal(response.status, 200);
      }
      assert.equal(await server.stop(), 0, server.output());
      assert.match(server.output(), /the trace collector did not take the last spans in time/);
    } finally {
      await server.kill();
      silent.close();
    }
  });
});
