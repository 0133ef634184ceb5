import type { IncomingMessage } from "node:http";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CODE_FUNCTION_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, RouteHandlerMethod } from "fastify";
import { QUERY_TIME, QueryTime } from "../db/tracing.js";
import { ProblemError } from "../domain/errors.js";

/** The probes a load balancer or Prometheus sends every few seconds: no traces of their own. */
const UNTRACED_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);
const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "TRACE",
  "CONNECT",
  "QUERY",
]);

interface RequestTrace {
  span: Span;
  /** The server span's context, with the QueryTime the request's statements add up in. */
  context: Context;
  queryTime: QueryTime;
}

/**
 * Tracing for the HTTP layer: a server span per request (continuing the caller's `traceparent`),
 * the trace id on every log line of the request, a span per handler named by its operationId,
 * and a `Server-Timing` header with the time spent in the database and in total. Used only when
 * tracing is on: with it off the app registers none of it.
 */
export class RequestTracing {
  readonly #tracer: Tracer;
  readonly #traces = new WeakMap<IncomingMessage, RequestTrace>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /**
   * Fastify makes each request's logger first, before any hook: the server span starts there, so
   * that every line the request logs, its "request completed" line too, carries the trace id.
   */
  readonly childLoggerFactory: NonNullable<FastifyServerOptions["childLoggerFactory"]> = (
    logger,
    bindings,
    options,
    raw,
  ) => {
    const path = (raw.url ?? "/").split("?", 1)[0] ?? "/";
    if (UNTRACED_PATHS.has(path)) return logger.child(bindings, options);
    const parent = propagation.extract(ROOT_CONTEXT, raw.headers);
    const method = raw.method ?? "GET";
    const [host, port] = hostAndPort(raw.headers.host);
    const span = this.#tracer.startSpan(
      KNOWN_METHODS.has(method) ? method : "HTTP",
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: KNOWN_METHODS.has(method) ? method : "_OTHER",
          [ATTR_URL_PATH]: path,
          [ATTR_URL_SCHEME]: "http",
          [ATTR_NETWORK_PROTOCOL_VERSION]: raw.httpVersion,
          ...(host ? { [ATTR_SERVER_ADDRESS]: host } : {}),
          ...(port ? { [ATTR_SERVER_PORT]: port } : {}),
          ...(raw.socket?.remoteAddress
            ? {
                [ATTR_CLIENT_ADDRESS]: raw.socket.remoteAddress,
                [ATTR_NETWORK_PEER_ADDRESS]: raw.socket.remoteAddress,
              }
            : {}),
          ...(raw.socket?.remotePort ? { [ATTR_NETWORK_PEER_PORT]: raw.socket.remotePort } : {}),
          ...(raw.headers["user-agent"] ? { [ATTR_USER_AGENT_ORIGINAL]: raw.headers["user-agent"] } : {}),
        },
      },
      parent,
    );
    const queryTime = new QueryTime();
    this.#traces.set(raw, { span, queryTime, context: trace.setSpan(parent, span).setValue(QUERY_TIME, queryTime) });
    const { traceId, spanId } = span.spanContext();
    return logger.child({ ...bindings, trace_id: traceId, span_id: spanId }, options);
  };

  register(app: FastifyInstance): void {
    app.addHook("onSend", (request, reply, payload, done) => {
      const traced = this.#traces.get(request.raw);
      if (traced) reply.header("server-timing", serverTiming(traced.queryTime.ms, reply.elapsedTime));
      done(null, payload);
    });
    app.addHook("onResponse", (request, reply, done) => {
      this.#end(request, reply);
      done();
    });
    app.addHook("onRequestAbort", (request, done) => {
      this.#end(request, undefined);
      done();
    });
  }

  /** The handler inside a span named by its operationId, current while it runs, so the data layer's spans are its children. */
  handler(operationId: string, handler: RouteHandlerMethod): RouteHandlerMethod {
    const tracer = this.#tracer;
    const traces = this.#traces;
    return function traced(this: FastifyInstance, request, reply) {
      const parent = traces.get(request.raw)?.context ?? context.active();
      const attributes = { [ATTR_CODE_FUNCTION_NAME]: operationId };
      return tracer.startActiveSpan(operationId, { attributes }, parent, async (span) => {
        try {
          return await handler.call(this, request, reply);
        } catch (error) {
          // A problem the client caused (404, 409, …) is an answer, not a failure of the handler.
          if (!(error instanceof ProblemError && error.status < 500)) failed(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    };
  }

  #end(request: FastifyRequest, reply: FastifyReply | undefined): void {
    const traced = this.#traces.get(request.raw);
    if (!traced) return;
    this.#traces.delete(request.raw);
    const { span } = traced;
    // Behind a trusted proxy (TRUST_PROXY) the client is the one it forwards, and the scheme the
    // one it reports; the socket's peer stays network.peer.address.
    span.setAttribute(ATTR_CLIENT_ADDRESS, request.ip);
    span.setAttribute(ATTR_URL_SCHEME, request.protocol);
    const route = request.routeOptions.url;
    if (route !== undefined && request.is404 !== true) {
      // The contract's form of the template: /api/people/{person_id}.
      const template = route.replace(/:(\w+)/g, "{$1}");
      span.updateName(`${request.method} ${template}`);
      span.setAttribute(ATTR_HTTP_ROUTE, template);
    }
    if (reply === undefined) {
      failed(span, { name: "aborted" });
    } else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) failed(span, { name: String(reply.statusCode) });
    }
    span.end();
  }
}

function failed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, (error as { name?: unknown })?.name ? String((error as Error).name) : "unknown");
}

/** `db;dur=1.2, total;dur=3.4`: milliseconds, as Server-Timing has them. */
export function serverTiming(databaseMs: number, totalMs: number): string {
  return `db;dur=${databaseMs.toFixed(1)}, total;dur=${totalMs.toFixed(1)}`;
}

function hostAndPort(host: string | undefined): [string | undefined, number | undefined] {
  if (!host) return [undefined, undefined];
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  if (!match) return [undefined, undefined];
  return [match[1] || undefined, match[2] ? Number(match[2]) : undefined];
}
