import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { FastifyHttpOptions, FastifyInstance } from "fastify";
import { ProblemError } from "../domain/errors.js";
import type { ServerLimits } from "./settings.js";

/** Node checks the headers and request timeouts on this interval (30 s by default), not at the instant. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** A lagging process needs a few seconds to work off its backlog; clients coming back sooner add to it. */
export const SHED_RETRY_AFTER_SECONDS = 5;
/**
 * Liveness must not flap: a process that is only busy would be restarted, and its load land
 * elsewhere. Metrics stay, so that the overload can be seen.
 */
const NEVER_SHED = new Set(["/healthz", "/metrics"]);
/** The event-loop delay is measured with a timer of this resolution, and averaged over a sample. */
const DELAY_RESOLUTION_MS = 10;
const DELAY_SAMPLE_MS = 1_000;
const REPORTED_EVERY_MS = 1_000;
/** Descriptors a process needs besides its connections: node itself, the database, files it serves, the log. */
const DESCRIPTOR_HEADROOM = 64;

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
 * The connection cap, the deadlines Node does not keep, and load shedding. Register it after the
 * hooks that set the headers every response carries and before the routes, so a shed request
 * costs no database work.
 */
export function registerServerLimits(app: FastifyInstance, limits: ServerLimits): void {
  new Connections(app, limits).watch();
  warnAboutDescriptors(app, limits.maxConnections);
  // A failed accept (out of descriptors, say) is the server's 'error' event: without a listener it
  // would be thrown and take the process down. Start-up errors (the port in use) stay Fastify's.
  let lastError: Error | undefined;
  const acceptFailed = tally((count) => app.log.warn({ count, err: lastError }, "could not accept connections"));
  app.server.once("listening", () =>
    app.server.on("error", (error: Error) => {
      lastError = error;
      acceptFailed();
    }),
  );
  if (limits.shedEventLoopDelayMs > 0) shedLoad(app, limits.shedEventLoopDelayMs);
}

/** What the server knows of one open connection. */
interface Connection {
  readonly socket: Socket;
  /** Requests received whose answers have not finished. */
  busy: number;
  /** Since when nothing has been in flight: the connection's opening, or its last answer. */
  idleSince: number;
  /** Bytes read by then: more since means a next request is arriving. */
  readWhenIdle: number;
  /** The request in flight (its body may still be arriving) and when its head had arrived. */
  request?: IncomingMessage;
  requestSince: number;
  /** Bytes of answers the client has taken, and since when it has taken none while some wait. */
  taken: number;
  waitingSince?: number;
}

/**
 * Every open connection, for three things Node's http server does not do:
 * - at the cap, close the longest-idle connection (no request in flight, none arriving) to admit
 *   a new one, as nginx and HAProxy do, instead of refusing new clients while idle ones hold the cap;
 * - cut a connection whose answer waits for the client longer than the send timeout;
 * - keep the headers and request deadlines once the listener has closed (a drain): closing the
 *   server stops Node's own checks, and a stalled upload would then hold the drain to its deadline.
 */
class Connections {
  readonly #open = new Map<Socket, Connection>();
  /** The connections with nothing in flight, longest idle first. */
  readonly #idle = new Map<Socket, Connection>();
  readonly #server: Server;

  constructor(
    private readonly app: FastifyInstance,
    private readonly limits: ServerLimits,
  ) {
    this.#server = app.server;
  }

  watch(): void {
    const { maxConnections, sendTimeoutMs } = this.limits;
    const refused = tally((dropped) =>
      this.app.log.warn({ dropped, maxConnections }, "connections refused: MAX_CONNECTIONS are open"),
    );
    const madeRoom = tally((closed) =>
      this.app.log.info({ closed, maxConnections }, "idle connections closed for new ones: MAX_CONNECTIONS are open"),
    );
    const tooSlow = tally((closed) =>
      this.app.log.warn({ closed, sendTimeoutMs }, "connections cut: the client read its answer too slowly"),
    );

    this.#server.on("connection", (socket: Socket) => {
      if (this.#open.size >= maxConnections) {
        const longestIdle = this.#longestIdle();
        if (!longestIdle) {
          socket.destroy();
          refused();
          return;
        }
        this.#forget(longestIdle);
        longestIdle.destroy();
        madeRoom();
      }
      this.#track(socket);
    });
    // Before Fastify's handler, which may answer at once.
    this.#server.prependListener("request", (request: IncomingMessage, response: ServerResponse) =>
      this.#requestArrived(request, response),
    );

    // From listening until the last connection has closed, a drain included.
    this.#server.once("listening", () => {
      const checks = setInterval(() => {
        const now = Date.now();
        // Node checks the headers and request deadlines only while the server listens.
        const draining = !this.#server.listening;
        for (const connection of this.#open.values()) {
          if (this.#tooSlowToRead(connection, now)) {
            this.#forget(connection.socket);
            connection.socket.resetAndDestroy();
            tooSlow();
          } else if (draining && this.#pastDeadline(connection, now)) {
            this.#timeOut(connection.socket);
          }
        }
      }, TIMEOUT_CHECK_INTERVAL_MS).unref();
      this.#server.once("close", () => clearInterval(checks));
    });
  }

  #track(socket: Socket): void {
    const now = Date.now();
    const connection: Connection = {
      socket,
      busy: 0,
      idleSince: now,
      readWhenIdle: socket.bytesRead,
      requestSince: now,
      taken: 0,
    };
    this.#open.set(socket, connection);
    this.#idle.set(socket, connection);
    socket.once("close", () => this.#forget(socket));
  }

  #forget(socket: Socket): void {
    this.#open.delete(socket);
    this.#idle.delete(socket);
  }

  #requestArrived(request: IncomingMessage, response: ServerResponse): void {
    const connection = this.#open.get(request.socket);
    if (!connection) return;
    connection.busy++;
    connection.request = request;
    connection.requestSince = Date.now();
    this.#idle.delete(connection.socket);
    response.once("close", () => {
      connection.busy--;
      if (connection.busy > 0 || !this.#open.has(connection.socket)) return;
      connection.request = undefined;
      connection.idleSince = Date.now();
      connection.readWhenIdle = connection.socket.bytesRead;
      this.#idle.set(connection.socket, connection);
    });
  }

  /** The connection idle longest that is truly idle: no bytes of a next request, none of an answer waiting. */
  #longestIdle(): Socket | undefined {
    for (const [socket, connection] of this.#idle) {
      if (socket.bytesRead !== connection.readWhenIdle) {
        // A request is arriving: busy until its answer.
        this.#idle.delete(socket);
        continue;
      }
      if (socket.writableLength === 0) return socket;
    }
    return undefined;
  }

  /**
   * Whether bytes have waited for the client for longer than the send timeout. The client takes a
   * write whole or not at all, as far as the socket tells: an answer must go out within the timeout,
   * beyond what the kernel buffers, and a client taking a byte now and then does not keep it alive.
   */
  #tooSlowToRead(connection: Connection, now: number): boolean {
    const { socket } = connection;
    const waiting = socket.writableLength;
    if (waiting === 0 || socket.destroyed) {
      connection.waitingSince = undefined;
      return false;
    }
    const taken = socket.bytesWritten - waiting;
    if (connection.waitingSince === undefined || taken !== connection.taken) {
      connection.taken = taken;
      connection.waitingSince = now;
      return false;
    }
    return now - connection.waitingSince > this.limits.sendTimeoutMs;
  }

  /** The headers deadline (from the opening or the last answer) or the request deadline (from the head) has passed. */
  #pastDeadline(connection: Connection, now: number): boolean {
    const { request } = connection;
    if (connection.busy > 0) {
      return request !== undefined && !request.complete && now - connection.requestSince > this.limits.requestTimeoutMs;
    }
    return now - connection.idleSince > this.limits.headersTimeoutMs;
  }

  /** As Node ends a request past its deadline: the server's client-error handler answers 408 and closes. */
  #timeOut(socket: Socket): void {
    this.#forget(socket);
    const error = Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
    if (!this.#server.emit("clientError", error, socket)) socket.destroy();
  }
}

/**
 * Past the descriptor limit the operating system refuses connections before the cap does, and
 * idle ones can no longer make room; say so at start-up (Linux tells the limit in /proc).
 */
function warnAboutDescriptors(app: FastifyInstance, maxConnections: number): void {
  const limit = descriptorLimit();
  if (limit === undefined || maxConnections + DESCRIPTOR_HEADROOM <= limit) return;
  app.log.warn(
    { maxConnections, descriptorLimit: limit },
    `MAX_CONNECTIONS (${maxConnections}) and ${DESCRIPTOR_HEADROOM} more descriptors for the database and files are ` +
      `beyond the process's open files limit (${limit}): past it, new connections are refused; ` +
      "raise the limit (ulimit -n, LimitNOFILE) or lower MAX_CONNECTIONS",
  );
}

function descriptorLimit(): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * Sheds requests while the event loop lags. The delay is sampled with node:perf_hooks, which
 * needs no descriptor: @fastify/under-pressure read /proc on every sample too, and once the
 * descriptors ran out that threw from its timer and took the process down.
 */
function shedLoad(app: FastifyInstance, maxDelayMs: number): void {
  const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  histogram.enable();
  let delay = 0;
  const sampler = setInterval(() => {
    // Every measurement includes the timer's own resolution.
    delay = histogram.count === 0 ? 0 : Math.max(0, histogram.mean / 1e6 - DELAY_RESOLUTION_MS);
    histogram.reset();
  }, DELAY_SAMPLE_MS).unref();
  app.addHook("onClose", async () => {
    clearInterval(sampler);
    histogram.disable();
  });

  let reportedDelay: number | undefined;
  // Rejecting hands the request to the problem handler and stops its other hooks.
  app.addHook("onRequest", async (request, reply) => {
    if (delay <= maxDelayMs || NEVER_SHED.has(request.routeOptions.url ?? "")) return;
    // The delay is sampled once a second: one line per sample, not one per request.
    if (delay !== reportedDelay) {
      reportedDelay = delay;
      app.log.warn({ eventLoopDelayMs: delay }, "shedding load: the event loop is lagging");
    }
    reply.header("retry-after", String(SHED_RETRY_AFTER_SECONDS));
    throw new ProblemError(503, "Service Unavailable", "The server is overloaded; try again shortly");
  });
}

/** Counts an event and reports how many there were, at most once a second. */
function tally(report: (count: number) => void): () => void {
  let count = 0;
  return () => {
    count++;
    if (count > 1) return;
    setTimeout(() => {
      report(count);
      count = 0;
    }, REPORTED_EVERY_MS).unref();
  };
}
