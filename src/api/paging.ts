import type { FastifyReply, FastifyRequest } from "fastify";
import type { Page } from "../domain/paging.js";

/**
 * Sets X-Total-Count and the RFC 8288 next link; the body stays a plain array. The link keeps the
 * list's own parameters (`kept`, such as a search's `q`) besides the limit and the cursor.
 */
export function sendPage<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  page: Page<T>,
  limit: number,
  kept: Record<string, string> = {},
): T[] {
  reply.header("x-total-count", page.total);
  if (page.next !== undefined) {
    const path = request.url.split("?", 1)[0];
    const query = new URLSearchParams({ ...kept, limit: String(limit), cursor: page.next });
    reply.header("link", `<${path}?${query}>; rel="next"`);
  }
  return page.items;
}
