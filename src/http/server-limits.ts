import type { Server } from "node:http";
import underPressure from "@fastify/under-pressure";
import type { FastifyHttpOptions, FastifyInstance } from "fastify";
import { ProblemError } from "../domain/errors.js";

/** How long a connection may take to say what it wants, how many may be open, and when to shed load. */
export interface ServerLimits {
  /** From a connection's opening (or the start of its next request) to the end of the request's headers. */
  headersTimeoutMs: number;
  /** From the start of a request to the last byte of its body; at least headersTimeoutMs. */
  requestTimeoutMs: number;
  /** How long a connection is kept open, idle, for its next request. */
  keepAliveTimeoutMs: number;
  /** Open connections per process; one more is closed as soon as it is accepted. */
  maxConnections: number;
  /** Mean event-loop delay above which requests are answered 503; 0 never sheds. */
  shedEventLoopDelayMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  // A request head is a few hundred bytes: any real client sends it within a second, a slowloris never does.
  headersTimeoutMs: 10_000,
  // The largest body (128 KiB) still arrives at 9 KiB/s; an upload that stalls frees its connection.
  requestTimeoutMs: 15_000,
  // Node's own default: a client's next request reuses the connection, idle ones do not pile up.
  keepAliveTimeoutMs: 5_000,
  // Far more than one process answers at once, few enough to keep memory and descriptors bounded.
  maxConnections: 1024,
  // A mean lag of a second means every client already waits seconds: then a quick 503 is kinder.
  shedEventLoopDelayMs: 1_000,
};

/** Node checks the headers and request timeouts on this interval (30 s by default), not at the instant. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** A lagging process needs a few seconds to work off its backlog; clients coming back sooner add to it. */
export const SHED_RETRY_AFTER_SECONDS = 5;
/**
 * Liveness must not flap: a process that is only busy would be restarted, and its load land
 * elsewhere. Metrics stay, so that the overload can be seen.
 */
const NEVER_SHED = new Set(["/healthz", "/metrics"]);
const DROPS_REPORTED_EVERY_MS = 1_000;

/** The limits Fastify applies when it creates the server. */
export function serverLimitOptions(
  limits: ServerLimits,
): Pick<FastifyHttpOptions<Server>, "requestTimeout" | "keepAliveTimeout" | "http"> {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  };
}

/**
 * The connection cap, and load shedding. Register it after the hooks that set the headers every
 * response carries and before the routes, so a shed request costs no database work.
 */
export async function registerServerLimits(app: FastifyInstance, limits: ServerLimits): Promise<void> {
  app.server.maxConnections = limits.maxConnections;
  reportDroppedConnections(app, limits.maxConnections);
  if (limits.shedEventLoopDelayMs === 0) return;

  let reportedDelay: number | undefined;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.shedEventLoopDelayMs,
    // Rejecting hands the request to the problem handler and stops its other hooks.
    pressureHandler: async (request, reply, _type, delay) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? "")) return;
      // The delay is sampled once a second: one line per sample, not one per request.
      if (delay !== reportedDelay) {
        reportedDelay = delay;
        app.log.warn({ eventLoopDelayMs: delay }, "shedding load: the event loop is lagging");
      }
      reply.header("retry-after", String(SHED_RETRY_AFTER_SECONDS));
      throw new ProblemError(503, "Service Unavailable", "The server is overloaded; try again shortly");
    },
  });
}

function reportDroppedConnections(app: FastifyInstance, maxConnections: number): void {
  let dropped = 0;
  app.server.on("drop", () => {
    dropped++;
    if (dropped > 1) return;
    setTimeout(() => {
      app.log.warn({ dropped, maxConnections }, "connections refused: MAX_CONNECTIONS are open");
      dropped = 0;
    }, DROPS_REPORTED_EVERY_MS).unref();
  });
}
