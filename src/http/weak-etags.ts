import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { matchesIfNoneMatch } from "../domain/etags.js";

/**
 * API reads that carry no ETag of their own (list pages, the session, the contract) get a weak one,
 * a digest of the body: the same page with the same content has the same tag, and an
 * If-None-Match that lists it gets 304 with no body.
 */
export function registerWeakEtags(app: FastifyInstance, prefix: string): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (request.method !== "GET" || reply.statusCode !== 200 || reply.hasHeader("etag")) return payload;
    if (typeof payload !== "string" || !request.url.startsWith(`${prefix}/`)) return payload;
    const etag = `W/"${createHash("sha256").update(payload).digest("base64url").slice(0, 22)}"`;
    reply.header("etag", etag);
    const ifNoneMatch = request.headers["if-none-match"];
    if (typeof ifNoneMatch === "string" && matchesIfNoneMatch(ifNoneMatch, etag)) {
      reply.code(304);
      return "";
    }
    return payload;
  });
}
