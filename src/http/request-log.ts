import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import "./access.js";
import "./session-cookie.js";

/**
 * One log line per request instead of Fastify's two ("incoming request", then "request
 * completed"): the completed line carries the request as well, under the same request id. Its
 * fields are flat values rather than the request and reply objects, so no serializer runs and
 * nothing is copied: on the lightest reads, writing the request log was the largest cost after
 * the socket itself. Every other log line is Fastify's own.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const fields = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
      // The token's public prefix only, never the secret; and who a write was made by.
      token: request.principal?.prefix ?? request.presentedTokenPrefix,
      tokenKind: request.principal?.kind,
      tokenPerson: request.principal?.personId ?? undefined,
      // The account a session cookie stood for, by id; never the cookie's value.
      account: request.signedIn?.account.account_id,
    };
    if (error) reply.log.error({ ...fields, err: error }, "request errored");
    else reply.log.info(fields, "request completed");
  }
}
