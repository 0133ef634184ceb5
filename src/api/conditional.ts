import type { FastifyReply, FastifyRequest } from "fastify";
import { ProblemError } from "../domain/errors.js";
import { matchesIfNoneMatch, type Tagged } from "../domain/etags.js";

export interface Preconditions {
  /** REQUIRE_IF_MATCH: a PUT or DELETE without If-Match is refused (428). */
  ifMatchRequired: boolean;
}

/**
 * Sends a resource with its ETag. A GET whose If-None-Match lists the tag gets 304 and no body:
 * the client's copy is current.
 */
export function sendTagged<T>(request: FastifyRequest, reply: FastifyReply, { value, etag }: Tagged<T>): T | undefined {
  reply.header("etag", etag);
  if (request.method === "GET" && matchesIfNoneMatch(header(request, "if-none-match"), etag)) {
    reply.code(304);
    return undefined;
  }
  return value;
}

/** The If-Match header of a PUT or DELETE, refused as missing (428) when the service requires one. */
export function ifMatchOf(request: FastifyRequest, preconditions: Preconditions): string | undefined {
  const value = header(request, "if-match");
  if (value === undefined && preconditions.ifMatchRequired) {
    throw new ProblemError(
      428,
      "Precondition Required",
      "Send If-Match with the ETag of what you read, so that nobody else's change is overwritten",
    );
  }
  return value;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
