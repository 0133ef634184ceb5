import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import swagger from "@fastify/swagger";
import swaggerUi, { type FastifySwaggerUiOptions } from "@fastify/swagger-ui";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import openapiGlue, { type FastifyOpenapiGlueOptions } from "fastify-openapi-glue";
import type { Redis } from "ioredis";
import { operationResolver } from "./api/index.js";
import { loadSpec } from "./contract/document.js";
import type { Store } from "./db/database.js";
import { ChangeFeed, DEFAULT_FEED_SETTINGS, type FeedSettings } from "./domain/changes.js";
import { ExportService } from "./domain/export.js";
import { NotesService } from "./domain/notes.js";
import { PeopleService } from "./domain/people.js";
import { SearchService } from "./domain/search.js";
import { TokenService } from "./domain/tokens.js";
import { AccessControl, type AccessMode } from "./http/access.js";
import { acceptJsonOnly } from "./http/bodies.js";
import { DEFAULT_EVENT_STREAM_SETTINGS, type EventStreamSettings, EventStreams } from "./http/event-stream.js";
import { registerSecurityHeaders } from "./http/headers.js";
import { Lifecycle, registerLifecycle } from "./http/lifecycle.js";
import { DEFAULT_METRICS, type MetricsSettings, registerMetrics } from "./http/metrics.js";
import { answerClientError, problem, registerProblemHandlers, sendProblem } from "./http/problems.js";
import { NO_RATE_LIMITS, type RateLimitSettings, RateLimits } from "./http/rate-limits.js";
import { OneLinePerRequest } from "./http/request-log.js";
import {
  DEFAULT_SERVER_LIMITS,
  registerServerLimits,
  type ServerLimits,
  serverLimitOptions,
} from "./http/server-limits.js";
import { pathMethods, responseOnlyTypes, securityByOperation } from "./http/spec.js";
import { compileValidator } from "./http/validation.js";
import { registerWeakEtags } from "./http/weak-etags.js";
import { registerWebApp } from "./http/web.js";
import { projectRoot } from "./paths.js";

export const API_PREFIX = "/api";
/** Large enough for the longest note (10,000 characters, escaped), small enough to refuse floods. */
export const BODY_LIMIT = 128 * 1024;

export interface AppOptions {
  store: Store;
  logger?: FastifyServerOptions["logger"];
  /** Where the built web app lives; defaults to web/dist. */
  webRoot?: string;
  /** Shutting down or not; the process entry drives it. */
  lifecycle?: Lifecycle;
  access?: AccessOptions;
  /** REQUIRE_IF_MATCH: PUT and DELETE must send If-Match (else 428). */
  requireIfMatch?: boolean;
  /** `/metrics`; defaults to on, for loopback clients. */
  metrics?: MetricsSettings & { clusterWorker?: boolean };
  /**
   * Timeouts, the connection cap and load shedding; defaults to DEFAULT_SERVER_LIMITS without load
   * shedding, which the process entry turns on from its configuration. An app built in a process
   * that does other heavy work (a test runner, a tool) would otherwise shed requests for lags it
   * caused itself.
   */
  serverLimits?: ServerLimits;
  /** The change feed's retention and polling, and the event streams' limits. */
  events?: { feed?: FeedSettings; streams?: EventStreamSettings };
}

export interface AccessOptions {
  /** Defaults to `once-a-token-exists`: the server on loopback. */
  mode?: AccessMode;
  /** Defaults to none, for tests; the server's configuration turns them on. */
  rateLimits?: RateLimitSettings;
  /** Counts the rate limits for every process; without it each process counts its own. */
  redis?: Redis;
}

const UNSHED_SERVER_LIMITS: ServerLimits = { ...DEFAULT_SERVER_LIMITS, shedEventLoopDelayMs: 0 };

/** /readyz answers within this, whatever the database does. */
export const READY_TIMEOUT_MS = 1000;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Swagger UI in the app's look, all served from here: the app's mark for Fastify's logo, the app's
 * favicon, and a theme (web/swagger-ui/) that fits a phone and drops the summary the description
 * repeats.
 */
function swaggerUiOptions(): FastifySwaggerUiOptions {
  const file = (path: string) => readFileSync(resolve(projectRoot, path));
  const mark = file("web/public/favicon.svg");
  return {
    routePrefix: `${API_PREFIX}/ui`,
    logo: { type: "image/svg+xml", content: mark, href: "/", target: "_self" },
    theme: {
      title: "People & Notes API",
      css: [{ filename: "theme.css", content: file("web/swagger-ui/theme.css").toString("utf8") }],
      js: [{ filename: "theme.js", content: file("web/swagger-ui/theme.js").toString("utf8") }],
      favicon: [{ filename: "favicon.svg", rel: "icon", sizes: "any", type: "image/svg+xml", content: mark }],
    },
  };
}

export async function buildApp({
  store,
  logger = false,
  webRoot,
  lifecycle = new Lifecycle(),
  access = {},
  requireIfMatch = false,
  metrics = DEFAULT_METRICS,
  serverLimits = UNSHED_SERVER_LIMITS,
  events = {},
}: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    logController: new OneLinePerRequest(),
    ...serverLimitOptions(serverLimits),
    clientErrorHandler: answerClientError,
    bodyLimit: BODY_LIMIT,
    // Fastify's default (100) makes a longer id miss its route and fall through to 404/405 handling;
    // every id must reach validation and get its 400. Node refuses URLs over 16 KiB before this.
    routerOptions: { maxParamLength: 16 * 1024 },
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // A caller's own request id is kept (and logged) when it is a plain token.
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  const spec = loadSpec();
  acceptJsonOnly(app, responseOnlyTypes(spec.document));
  app.setValidatorCompiler(compileValidator);
  registerSecurityHeaders(app);
  registerLifecycle(app, lifecycle);
  registerServerLimits(app, serverLimits);
  registerWeakEtags(app, API_PREFIX);

  const apiNotFound = registerProblemHandlers(app, pathMethods(spec.document, API_PREFIX));

  const feed = new ChangeFeed(store, app.log, events.feed ?? DEFAULT_FEED_SETTINGS);
  const streams = new EventStreams(events.streams ?? DEFAULT_EVENT_STREAM_SETTINGS);
  lifecycle.onDraining(() => streams.endAll());
  // Streams never finish on their own: closing ends them first, or it would wait for them.
  app.addHook("preClose", async () => streams.endAll());
  app.addHook("onClose", async () => feed.stop());
  const people = new PeopleService(store, feed);
  const appMetrics = registerMetrics(app, store, spec.document, API_PREFIX, metrics, {
    ...metrics,
    eventStreams: streams,
  });
  const rateLimits = await RateLimits.register(app, access.rateLimits ?? NO_RATE_LIMITS, access.redis, appMetrics);
  const accessControl = new AccessControl(new TokenService(store), access.mode ?? "once-a-token-exists", rateLimits);
  const services = {
    people,
    notes: new NotesService(store, feed),
    session: { people, accessControl: () => accessControl.isOn() },
    preconditions: { ifMatchRequired: requireIfMatch },
    events: { feed, streams },
    export: new ExportService(store),
    search: new SearchService(store),
  };
  const security = securityByOperation(spec.document);
  const guardFor = (operationId: string) => accessControl.guardFor(security.get(operationId));

  await app.register(swagger, { mode: "static", specification: { document: structuredClone(spec.document) as never } });
  await app.register(swaggerUi, swaggerUiOptions());
  await app.register(openapiGlue, {
    specification: structuredClone(spec.document),
    // The glue spreads what the resolver returns into the route; its types ask for a whole route.
    operationResolver: operationResolver(
      services,
      guardFor,
    ) as unknown as FastifyOpenapiGlueOptions["operationResolver"],
    prefix: API_PREFIX,
  });

  app.get(`${API_PREFIX}/openapi.json`, { logLevel: "warn" }, async () => spec.document);
  app.get(`${API_PREFIX}/openapi.yaml`, { logLevel: "warn" }, async (_request, reply) =>
    reply.type("application/yaml; charset=utf-8").send(spec.yaml),
  );

  app.get("/healthz", { logLevel: "warn" }, async () => ({ status: "ok" }));
  app.get("/readyz", { logLevel: "warn" }, async (request, reply) => {
    if (lifecycle.draining) return sendProblem(reply, problem(503, "The server is shutting down"));
    try {
      await withDeadline(store.ping(), READY_TIMEOUT_MS);
      return { status: "ready", connections: store.connections() };
    } catch (error) {
      request.log.warn({ err: error }, "database not reachable");
      return sendProblem(reply.header("retry-after", "1"), problem(503, "The database is not reachable"));
    }
  });

  const web = await registerWebApp(app, webRoot);
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    if (request.url === API_PREFIX || request.url.startsWith(`${API_PREFIX}/`)) return apiNotFound(request, reply);
    if (web.sendPage(request, reply)) return reply;
    return sendProblem(reply, problem(404, "There is no resource at this URL"));
  };
  app.setNotFoundHandler(notFound);
  // Fastify reads a body before its not-found handler runs, so a wrong method or path with an empty,
  // malformed, oversized or untyped body (or a QUERY without a type) would be refused as that body
  // (400, 413, 415) instead: the 404 and 405 are answered as soon as the request arrives.
  app.addHook("onRequest", (request, reply, done) => {
    if (request.is404) notFound(request, reply);
    else done();
  });

  return app;
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
