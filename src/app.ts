import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import swaggerUi, { type FastifySwaggerUiOptions } from "@fastify/swagger-ui";
import type { Tracer } from "@opentelemetry/api";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type onRequestAsyncHookHandler,
} from "fastify";
import type { Redis } from "ioredis";
import { operationResolver } from "./api/index.js";
import { loadContract, loadSpec } from "./contract/document.js";
import type { Store } from "./db/database.js";
import { AccountService } from "./domain/accounts.js";
import { ChangeFeed } from "./domain/changes.js";
import { ExportService } from "./domain/export.js";
import { NotesService } from "./domain/notes.js";
import { PasskeyService } from "./domain/passkeys.js";
import { PasswordHasher, type ScryptCost } from "./domain/passwords.js";
import { PeopleService } from "./domain/people.js";
import { SearchService } from "./domain/search.js";
import {
  type AccountSettings,
  DEFAULT_ACCOUNT_SETTINGS,
  DEFAULT_FEED_SETTINGS,
  DEFAULT_HISTORY,
  DEFAULT_TRASH,
  DEFAULT_WEBHOOK_SETTINGS,
  type FeedSettings,
  type HistorySettings,
  type TrashSettings,
  type WebhookSettings,
} from "./domain/settings.js";
import { TokenService } from "./domain/tokens.js";
import { TrashService } from "./domain/trash.js";
import { WebhookDelivery } from "./domain/webhook-delivery.js";
import { WebhookService } from "./domain/webhooks.js";
import { AccessControl, type AccessMode } from "./http/access.js";
import { acceptJsonOnly } from "./http/bodies.js";
import { EventStreams } from "./http/event-stream.js";
import { registerSecurityHeaders } from "./http/headers.js";
import { LIFECYCLE_OPTIONS, Lifecycle, registerLifecycle } from "./http/lifecycle.js";
import { registerMetrics } from "./http/metrics.js";
import { answerClientError, problem, registerProblemHandlers, sendProblem } from "./http/problems.js";
import { RateLimits } from "./http/rate-limits.js";
import { OneLinePerRequest } from "./http/request-log.js";
import { registerContractRoutes } from "./http/routes.js";
import { lazySchemaCompilers } from "./http/serialization.js";
import { registerServerLimits, serverLimitOptions } from "./http/server-limits.js";
import { SessionCookie } from "./http/session-cookie.js";
import {
  DEFAULT_EVENT_STREAM_SETTINGS,
  DEFAULT_METRICS,
  DEFAULT_SERVER_LIMITS,
  type EventStreamSettings,
  type MetricsSettings,
  NO_RATE_LIMITS,
  type RateLimitSettings,
  type ServerLimits,
} from "./http/settings.js";
import { pathMethods, responseOnlyTypes, securityByOperation } from "./http/spec.js";
import type { RequestTracing } from "./http/tracing.js";
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
  /**
   * With tracing on: a span per request and per handler, the trace id in the request's log lines,
   * and `Server-Timing`. The store should be opened with the same tracer for the database's spans.
   */
  tracer?: Tracer;
  /** How much of each note's history is kept (HISTORY_MAX_VERSIONS); defaults to all of it. */
  history?: HistorySettings;
  /** How long the trash keeps what was deleted (TRASH_RETENTION_DAYS); defaults to 30 days. */
  trash?: TrashSettings;
  /**
   * Webhooks' settings, and whether this process delivers them (the server's processes do); off
   * by default, so that an app built for a test or a tool sends nothing unasked.
   */
  webhooks?: Partial<WebhookSettings> & { deliver?: boolean };
}

export interface AccessOptions {
  /** Defaults to `once-a-token-exists`: the server on loopback. */
  mode?: AccessMode;
  /** Defaults to none, for tests; the server's configuration turns them on. */
  rateLimits?: RateLimitSettings;
  /** Counts the rate limits for every process; without it each process counts its own. */
  redis?: Redis;
  /**
   * TRUST_PROXY: the proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client (and
   * X-Forwarded-Proto and -Host its scheme and host), for the per-address rate limits, the sessions'
   * address, the log and the metrics' loopback check. Unset, every request is its peer's own.
   */
  trustProxy?: string[];
  /** Sessions, sign-up and the public URL; defaults to DEFAULT_ACCOUNT_SETTINGS. */
  accounts?: Partial<AccountSettings>;
  /**
   * The scrypt cost of new password hashes: PASSWORD_COST (OWASP's) unless given. Not a setting of
   * the server: tests that hash hundreds of passwords give a low one, as Django's test settings swap
   * in a fast hasher; the stored form names its cost, so checks work either way.
   */
  passwordCost?: ScryptCost;
}

const UNSHED_SERVER_LIMITS: ServerLimits = { ...DEFAULT_SERVER_LIMITS, shedEventLoopDelayMs: 0 };

/** /readyz answers within this, whatever the database does. */
export const READY_TIMEOUT_MS = 1000;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Swagger UI's plugins: its own (the URL bar's download) and web/swagger-ui/theme.js's, which
 * resolves the contract once rather than once per operation opened. @fastify/swagger-ui writes a
 * function of its configuration into the page as its source text, so this one is made from the
 * text the page runs, naming the page's globals.
 */
const SWAGGER_UI_PLUGINS = new Function(
  "return [SwaggerUIBundle.plugins.DownloadUrl, PeopleNotesSwaggerUi.resolveOnce]",
) as () => object;

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
    uiConfig: { plugins: [SWAGGER_UI_PLUGINS] },
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
  tracer,
  history = DEFAULT_HISTORY,
  trash = DEFAULT_TRASH,
  webhooks = {},
}: AppOptions): Promise<FastifyInstance> {
  // Loaded only when tracing is on, with the semantic conventions it names its attributes by.
  const tracing: RequestTracing | undefined = tracer
    ? new (await import("./http/tracing.js")).RequestTracing(tracer)
    : undefined;
  const app = Fastify({
    logger,
    logController: new OneLinePerRequest(),
    ...(tracing ? { childLoggerFactory: tracing.childLoggerFactory } : {}),
    ...serverLimitOptions(serverLimits),
    ...LIFECYCLE_OPTIONS,
    // A list, never `true` or a hop count: a header only a named proxy's word is taken for.
    trustProxy: access.trustProxy && access.trustProxy.length > 0 ? access.trustProxy : false,
    clientErrorHandler: answerClientError,
    schemaController: lazySchemaCompilers,
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
  registerSecurityHeaders(app);
  registerLifecycle(app, lifecycle);
  registerServerLimits(app, serverLimits);
  registerWeakEtags(app, API_PREFIX);
  // After the other onSend hooks, so that Server-Timing's total includes them.
  tracing?.register(app);

  const apiNotFound = registerProblemHandlers(app, pathMethods(spec.document, API_PREFIX));

  const feed = new ChangeFeed(store, app.log, events.feed ?? DEFAULT_FEED_SETTINGS);
  const streams = new EventStreams(events.streams ?? DEFAULT_EVENT_STREAM_SETTINGS);
  lifecycle.onDraining(() => streams.endAll());
  // Streams never finish on their own: closing ends them first, or it would wait for them.
  app.addHook("preClose", async () => streams.endAll());
  app.addHook("onClose", async () => feed.stop());
  const people = new PeopleService(store, feed);
  const webhookSettings: WebhookSettings = { ...DEFAULT_WEBHOOK_SETTINGS, ...webhooks };
  const delivery = webhooks.deliver ? new WebhookDelivery(store, feed, app.log, webhookSettings) : undefined;
  if (delivery) {
    app.addHook("onReady", async () => delivery.start());
    // Draining hands the endpoints to the other processes at once; closing waits for the attempts in flight to end.
    lifecycle.onDraining(() => void delivery.stop());
    app.addHook("preClose", async () => delivery.stop());
  }
  const appMetrics = registerMetrics(app, store, spec.document, API_PREFIX, metrics, {
    ...metrics,
    eventStreams: streams,
  });
  const rateLimits = await RateLimits.register(app, access.rateLimits ?? NO_RATE_LIMITS, access.redis, appMetrics);
  await app.register(cookie);
  const accountSettings = { ...DEFAULT_ACCOUNT_SETTINGS, ...access.accounts };
  const publicUrl = accountSettings.publicUrl ? new URL(accountSettings.publicUrl) : undefined;
  const sessionCookie = new SessionCookie({
    secure: publicUrl?.protocol === "https:",
    ...(publicUrl ? { publicOrigin: publicUrl.origin } : {}),
  });
  const hasher = access.passwordCost ? new PasswordHasher(access.passwordCost) : undefined;
  const accounts = new AccountService(store, people, accountSettings, undefined, hasher);
  const tokens = new TokenService(store);
  const accessControl = new AccessControl(
    tokens,
    access.mode ?? "once-a-token-exists",
    rateLimits,
    accounts,
    sessionCookie,
  );
  const services = {
    people,
    notes: new NotesService(store, feed, history),
    session: { people, accessControl: () => accessControl.isOn() },
    preconditions: { ifMatchRequired: requireIfMatch },
    events: { feed, streams },
    export: new ExportService(store),
    search: new SearchService(store),
    account: {
      accounts,
      people,
      cookie: sessionCookie,
      accessControl: () => accessControl.isOn(),
      passkeys: new PasskeyService(store, accounts),
      // W3C WebAuthn: the relying party is PUBLIC_URL's host (else the host asked for), the origin exact.
      relyingParty: (request: FastifyRequest) =>
        publicUrl
          ? { id: publicUrl.hostname, origin: publicUrl.origin }
          : { id: request.hostname, origin: `${request.protocol}://${request.host}` },
    },
    tokens,
    trash: new TrashService(store, feed, trash),
    webhooks: new WebhookService(store, webhookSettings, () => delivery?.kick()),
  };
  const security = securityByOperation(spec.document);
  const guardFor = (operationId: string) => {
    if (operationId === "account.sign_in") return accessControl.signInGuards(true);
    if (operationId === "invites.accept") return accessControl.signInGuards(false);
    if (operationId === "account.passkey_options" || operationId === "account.passkey_verify") {
      // A sign-in's checks first, then who the optional session or token is (adding a passkey).
      const signIn = accessControl.signInGuards(false).onRequest as onRequestAsyncHookHandler;
      const guard = accessControl.guardFor(security.get(operationId));
      return { onRequest: guard ? [signIn, guard] : [signIn] };
    }
    const guard = accessControl.guardFor(security.get(operationId));
    if (operationId === "account.change_password") {
      return { ...(guard ? { onRequest: guard } : {}), preHandler: accessControl.passwordChangeGuard() };
    }
    return guard ? { onRequest: guard } : {};
  };

  await app.register(swagger, { mode: "static", specification: { document: structuredClone(spec.document) as never } });
  await app.register(swaggerUi, swaggerUiOptions());
  // The contract's routes as fastify-openapi-glue makes them, made by `npm run gen` (src/contract/document.ts).
  const { routes, contentTypes } = await loadContract();
  await registerContractRoutes(app, {
    routes,
    contentTypes,
    operationResolver: operationResolver(services, guardFor, tracing),
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
