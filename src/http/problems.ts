import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { describeValidationErrors, summarize } from "../contract/errors.js";
import { DatabaseFullError, DatabaseUnavailableError } from "../db/errors.js";
import { ProblemError } from "../domain/errors.js";
import { PreconditionFailed } from "../domain/etags.js";
import type { Problem } from "../domain/types.js";

export const PROBLEM_TYPE = "application/problem+json";

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_TYPE).send(problem);
}

export function problem(status: number, detail: string, errors?: Problem["errors"]): Problem {
  const body: Problem = { type: "about:blank", title: STATUS_CODES[status] ?? "Error", status, detail };
  if (errors && errors.length > 0) body.errors = errors;
  return body;
}

function toProblem(error: FastifyError | Error, request: FastifyRequest): Problem {
  if (error instanceof ProblemError) return problem(error.status, error.detail, error.errors);
  if ("validation" in error && error.validation) {
    const errors = describeValidationErrors(error.validation as never, error.validationContext ?? "body");
    return problem(400, summarize(errors), errors);
  }
  const status = ("statusCode" in error ? error.statusCode : undefined) ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (415, 413, malformed JSON…) carry messages safe to show.
    return problem(status, error.message);
  }
  if (error instanceof DatabaseUnavailableError) {
    if (error.outcomeUnknown) {
      request.log.error({ err: error }, "connection lost while a change was being committed");
      return problem(
        503,
        "The connection to the database was lost before it confirmed the change, so it may have been saved; read it back before trying again",
      );
    }
    request.log.warn({ err: error }, "database unavailable");
    return problem(503, "The database is busy or unavailable; nothing was changed; try again shortly");
  }
  if (error instanceof DatabaseFullError) {
    request.log.error({ err: error }, "database storage is full");
    return problem(507, "The server's storage is full, so the change was not saved; reading still works");
  }
  request.log.error({ err: error }, "request failed");
  return problem(500, "The server could not complete the request");
}

export function registerProblemHandlers(app: FastifyInstance, methodsByPath: { pattern: RegExp; allow: string[] }[]) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = toProblem(error, request);
    if (error instanceof DatabaseUnavailableError) reply.header("retry-after", String(error.retryAfterSeconds));
    if (error instanceof PreconditionFailed && error.currentTag) reply.header("etag", error.currentTag);
    return sendProblem(reply, body);
  });

  return function apiNotFound(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split("?", 1)[0] ?? "";
    const known = methodsByPath.find((entry) => entry.pattern.test(path));
    if (known) {
      reply.header("allow", known.allow.join(", "));
      return sendProblem(reply, problem(405, `${request.method} is not allowed here; use ${known.allow.join(", ")}`));
    }
    return sendProblem(reply, problem(404, "There is no resource at this URL"));
  };
}

/** What Node refuses before a request reaches a route, by its error code. */
function clientErrorProblem(code: string | undefined): Problem {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return problem(408, "The request did not arrive in time; nothing was changed. Send it again, whole");
    case "HPE_HEADER_OVERFLOW":
      return problem(431, "The request's headers are larger than the server accepts (16 KiB)");
    // A method Node knows (QUERY, PROPFIND…) reaches the routes, and a path that does not take it
    // answers 405; one no server knows is not implemented for any resource (RFC 9110, 15.6.2).
    case "HPE_INVALID_METHOD":
      return problem(501, "The server does not know the request's method");
    default:
      return problem(400, "The request is not a well-formed HTTP request");
  }
}

/**
 * Fastify's clientErrorHandler: a request Node refuses before it reaches a route (its headers or
 * body did not arrive within the server's timeouts, its headers are too large, its method is
 * unknown, it is not HTTP) is answered with a problem document written on the connection itself,
 * which is then closed. Nothing is written when an answer to the request has already begun.
 * Logged at trace, as Fastify does: these are the client's troubles, and a flood of them must not
 * flood the log.
 */
export function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const body = clientErrorProblem(error.code);
  this.log.trace({ err: error, status: body.status }, "client error");
  // Node's own handler checks the same: an answer already on its way must not be corrupted.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${body.status} ${body.title}\r\n` +
        `Content-Type: ${PROBLEM_TYPE}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\n` +
        "Connection: close\r\n\r\n" +
        text,
    );
  }
  socket.destroy(error);
}
