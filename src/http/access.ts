import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { ANONYMOUS, type Caller, callerFor, refusal } from "../domain/policy.js";
import { type Principal, type TokenService, tokenPrefix } from "../domain/tokens.js";
import { problem, sendProblem } from "./problems.js";
import type { RateLimits } from "./rate-limits.js";
import type { SecurityRequirement } from "./spec.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who made the request, when it carried a valid token. */
    principal?: Principal;
    /** Who the services are told made the request: set by the guard of an operation with `security`. */
    caller?: Caller;
    /** The public prefix of the token the request carried, valid or not: for the log line. */
    presentedTokenPrefix?: string;
  }
}

/**
 * `always`: every write needs a token (the server listens beyond loopback). `once-a-token-exists`:
 * writes are open until the first usable token is made, as on a laptop before any setup.
 */
export type AccessMode = "always" | "once-a-token-exists";

const SCHEME = "bearerAuth";
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const REALM = 'Bearer realm="people-notes"';

export class AccessControl {
  constructor(
    private readonly tokens: TokenService,
    private readonly mode: AccessMode,
    private readonly limits: RateLimits,
  ) {}

  /** Whether writes need a token right now. */
  async isOn(): Promise<boolean> {
    return this.mode === "always" || (await this.tokens.anyUsable());
  }

  /**
   * The check an operation's `security` asks for, run when the request arrives (before its body
   * is read or validated): who the token stands for, whether they may do this, and the rate limits.
   * Undefined for an operation that declares no security.
   */
  guardFor(security: SecurityRequirement[] | undefined): onRequestAsyncHookHandler | undefined {
    const roles = security?.find((requirement) => SCHEME in requirement)?.[SCHEME];
    if (!security || roles === undefined) return undefined;
    const optional = security.some((requirement) => Object.keys(requirement).length === 0);
    return async (request, reply) => {
      const presented = bearerToken(request);
      if (presented === "malformed")
        return this.refuse(request, reply, "The Authorization header must be `Bearer <token>`", true);
      if (presented === undefined) {
        if (optional) return undefined;
        if (await this.isOn()) {
          return this.refuse(request, reply, "This change needs a token: send `Authorization: Bearer <token>`", false);
        }
        request.caller = ANONYMOUS;
        return this.limitWrites(request, reply);
      }
      request.presentedTokenPrefix = tokenPrefix(presented);
      const principal = await this.tokens.authenticate(presented);
      if (!principal) return this.refuse(request, reply, "The token is unknown, revoked or expired", true);
      request.principal = principal;
      request.caller = callerFor(principal);
      if (optional) return undefined;
      // The scopes only: which rows the caller may touch is for the services to ask the policy.
      if (principal.kind !== "admin" && !roles.includes("owner")) {
        return sendProblem(reply.code(403), problem(403, refusal(request.caller, "admin")));
      }
      return this.limitWrites(request, reply);
    };
  }

  private async limitWrites(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const verdict = await this.limits.write(request, reply);
    return verdict.allowed ? undefined : this.limits.refuse(reply, verdict, "Too many changes: wait and try again");
  }

  private async refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    detail: string,
    tokenGiven: boolean,
  ): Promise<FastifyReply> {
    const verdict = await this.limits.failedSignIn(request);
    if (!verdict.allowed) return this.limits.refuse(reply, verdict, "Too many failed sign-ins: wait and try again");
    reply.header("www-authenticate", tokenGiven ? `${REALM}, error="invalid_token"` : REALM);
    return sendProblem(reply.code(401), problem(401, detail));
  }
}

function bearerToken(request: FastifyRequest): string | "malformed" | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header === "") return undefined;
  return BEARER.exec(header)?.[1] ?? "malformed";
}
