import cluster from "node:cluster";
import type { FastifyInstance } from "fastify";
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { OpenApiDocument } from "../contract/document.js";
import type { Store } from "../db/database.js";
import { isLoopback } from "./loopback.js";
import { problem, sendProblem } from "./problems.js";
import type { MetricsSettings } from "./settings.js";
import { operationsByRoute } from "./spec.js";

const SCRAPE_REQUEST = "people-notes:metrics";
const SCRAPE_ANSWER = "people-notes:metrics-answer";
const SCRAPE_TIMEOUT_MS = 5_000;

/** The counters the rest of the app adds to. */
export interface AppMetrics {
  rateLimitRefused(limit: "writes" | "sign-ins"): void;
}

/**
 * `/metrics` in Prometheus' text format: requests by operationId and status (never by raw URL),
 * their latency, the database pool, event streams open, rate-limit refusals and the process. In a cluster worker a
 * scrape asks the primary, which gathers every worker's metrics into one answer.
 */
export function registerMetrics(
  app: FastifyInstance,
  store: Store,
  document: OpenApiDocument,
  prefix: string,
  settings: MetricsSettings,
  { clusterWorker = false, eventStreams }: { clusterWorker?: boolean; eventStreams?: { open: number } } = {},
): AppMetrics {
  const registry = new Registry();
  const operations = operationsByRoute(document, prefix);
  const labels = ["operation", "method", "status"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "Requests answered",
    labelNames: labels,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from request to response",
    labelNames: labels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const refused = new Counter({
    name: "rate_limit_refusals_total",
    help: "Requests answered 429",
    labelNames: ["limit"],
    registers: [registry],
  });
  new Gauge({
    name: "db_pool_connections",
    help: "Database connections, by state (on SQLite: the one connection and the turns waiting for it)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const use = store.connections();
      this.set({ state: "open" }, use.open);
      this.set({ state: "idle" }, use.idle);
      this.set({ state: "waiting" }, use.waiting);
    },
  });
  new Counter({
    name: "db_pool_acquired_total",
    help: "Database connections handed out (PostgreSQL)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.connections().acquired ?? 0);
    },
  });
  new Counter({
    name: "db_pool_wait_seconds_total",
    help: "Time spent waiting for a database connection (PostgreSQL)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.connections().waitSeconds ?? 0);
    },
  });

  new Gauge({
    name: "event_streams_open",
    help: "Server-Sent Events streams open (GET /api/events)",
    registers: [registry],
    collect() {
      this.set(eventStreams?.open ?? 0);
    },
  });

  // One pair of label-bound children per operation, method and status: prom-client would otherwise
  // hash the label set on every request.
  const series = new Map<
    string,
    { count: ReturnType<typeof requests.labels>; time: ReturnType<typeof duration.labels> }
  >();
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    const key = `${request.method} ${route ?? ""} ${reply.statusCode}`;
    let bound = series.get(key);
    if (!bound) {
      const operation = route === undefined ? "unmatched" : (operations.get(`${request.method} ${route}`) ?? route);
      const values = { operation, method: request.method, status: String(reply.statusCode) };
      bound = { count: requests.labels(values), time: duration.labels(values) };
      series.set(key, bound);
    }
    bound.count.inc();
    bound.time.observe(reply.elapsedTime / 1000);
  });

  if (settings.enabled) {
    if (clusterWorker) AggregatorRegistry.setRegistries([processRegistry(), registry]);
    // Creating one makes this worker answer the primary's requests for its metrics.
    if (clusterWorker) new AggregatorRegistry();
    app.get("/metrics", { logLevel: "warn" }, async (request, reply) => {
      // Both the client (a proxy's word, with TRUST_PROXY) and the peer: a proxy on this host forwards
      // remote clients, and a remote proxy's loopback client is on that proxy's host, not this one.
      const peer = request.socket?.remoteAddress ?? "";
      if (settings.loopbackOnly && !(isLoopback(request.ip) && isLoopback(peer))) {
        return sendProblem(reply.code(403), problem(403, "Metrics are served to loopback clients only"));
      }
      const text = clusterWorker ? await scrapeThroughPrimary() : await scrapeOf(registry);
      return reply.type(registry.contentType).send(text);
    });
  }
  return { rateLimitRefused: (limit) => refused.inc({ limit }) };
}

let processMetrics: Registry | undefined;

/** CPU, memory, event loop and GC of this process: collected once however many apps it builds. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

async function scrapeOf(registry: Registry): Promise<string> {
  return `${await processRegistry().metrics()}\n${await registry.metrics()}`;
}

let scrapes = 0;

/** Asks the cluster primary for every worker's metrics, aggregated. */
function scrapeThroughPrimary(): Promise<string> {
  const id = ++scrapes;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off("message", onAnswer);
      reject(new Error("the cluster primary did not answer the metrics request"));
    }, SCRAPE_TIMEOUT_MS);
    const onAnswer = (message: unknown) => {
      const answer = message as { cmd?: string; id?: number; text?: string; error?: string };
      if (answer?.cmd !== SCRAPE_ANSWER || answer.id !== id) return;
      clearTimeout(timer);
      process.off("message", onAnswer);
      if (answer.error !== undefined) reject(new Error(answer.error));
      else resolve(answer.text ?? "");
    };
    process.on("message", onAnswer);
    process.send?.({ cmd: SCRAPE_REQUEST, id });
  });
}

/** In the cluster primary: answers the workers' scrapes with every worker's metrics aggregated. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: { cmd?: string; id?: number }) => {
    if (message?.cmd !== SCRAPE_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ cmd: SCRAPE_ANSWER, id: message.id, text }),
      (error: Error) => worker.send({ cmd: SCRAPE_ANSWER, id: message.id, error: error.message }),
    );
  });
}
