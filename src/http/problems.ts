import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { DatabaseFullError, DatabaseUnavailableError } from "../db/errors.js";
import { ProblemError } from "../domain/errors.js";
import { PreconditionFailed } from "../domain/etags.js";
import type { Problem } from "../domain/types.js";
import { describeValidationErrors, summarize } from "./validation.js";

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
