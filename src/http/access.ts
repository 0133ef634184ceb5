import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler } from "fastify";
import { type AccountService, accountNameKey } from "../domain/accounts.js";
import { ANONYMOUS, type Caller, callerFor, callerForAccount, refusal } from "../domain/policy.js";
import { type Principal, type TokenService, tokenPrefix } from "../domain/tokens.js";
import { problem, sendProblem } from "./problems.js";
import type { RateLimits } from "./rate-limits.js";
import type { SessionCookie } from "./session-cookie.js";
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
 * `always`: every write needs a token or a session (the server listens beyond loopback).
 * `once-a-token-exists`: writes are open until the first usable token is made or the first account
 * gets a password, as on a laptop before any setup.
 */
export type AccessMode = "always" | "once-a-token-exists";

/** The hooks of one operation's route. */
export interface Guards {
  onRequest?: onRequestAsyncHookHandler | onRequestAsyncHookHandler[];
  preHandler?: preHandlerAsyncHookHandler;
}

const SCHEME = "bearerAuth";
const COOKIE_SCHEME = "cookieAuth";
const READS = new Set(["GET", "HEAD"]);
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const REALM = 'Bearer realm="people-notes"';

export class AccessControl {
  constructor(
    private readonly tokens: TokenService,
    private readonly mode: AccessMode,
    private readonly limits: RateLimits,
    private readonly accounts: AccountService,
    private readonly cookie: SessionCookie,
  ) {}

  /** Whether writes need a token or a signed-in session right now. */
  async isOn(): Promise<boolean> {
    return this.mode === "always" || (await this.accounts.anyCredential());
  }

  /**
   * The checks before a password is tried (`account.sign_in`, `invites.accept`): refused from
   * another site's page (403), and past the client address's limit of attempts (429); with
   * `byName`, past the limit for the name signed in as too, once the body is read.
   */
  signInGuards(byName: boolean): Guards {
    const onRequest: onRequestAsyncHookHandler = async (request, reply) => {
      if (this.cookie.fromOtherSite(request)) {
        request.log.warn("sign-in from another site refused");
        return sendProblem(reply.code(403), problem(403, "Signing in is only possible from this site's own pages"));
      }
      const verdict = await this.limits.failedSignIn(request);
      if (!verdict.allowed) return this.limits.refuse(reply, verdict, "Too many sign-in attempts: wait and try again");
      return undefined;
    };
    if (!byName) return { onRequest };
    const preHandler: preHandlerAsyncHookHandler = async (request, reply) => {
      const { name } = request.body as { name: string };
      const verdict = await this.limits.nameSignIn(request, accountNameKey(name));
      if (!verdict.allowed) {
        request.log.warn("password sign-in limit for one name reached");
        return this.limits.refuse(reply, verdict, "Too many sign-in attempts for this name: wait and try again");
      }
      return undefined;
    };
    return { onRequest, preHandler };
  }

  /**
   * `account.change_password` tries the current password: each attempt counts against the limit
   * of the account's name, as a password sign-in does, so a stolen session cannot guess it faster.
   */
  passwordChangeGuard(): preHandlerAsyncHookHandler {
    return async (request, reply) => {
      if (!request.signedIn) return undefined;
      const verdict = await this.limits.nameSignIn(request, request.signedIn.account.name_key);
      if (!verdict.allowed) {
        request.log.warn({ account: request.signedIn.account.account_id }, "password change limit reached");
        return this.limits.refuse(reply, verdict, "Too many password attempts: wait and try again");
      }
      return undefined;
    };
  }

  /**
   * The check an operation's `security` asks for, run when the request arrives (before its body
   * is read or validated): who the token or session stands for, whether they may do this, and the
   * rate limits. Only the schemes the operation lists are taken: a session cookie where it lists
   * `cookieAuth`, a bearer token where it lists `bearerAuth`; anything else the request carries is
   * as if it were not there. Undefined for an operation that declares no security.
   */
  guardFor(security: SecurityRequirement[] | undefined): onRequestAsyncHookHandler | undefined {
    const tokenRoles = security?.find((requirement) => SCHEME in requirement)?.[SCHEME];
    const cookieRoles = security?.find((requirement) => COOKIE_SCHEME in requirement)?.[COOKIE_SCHEME];
    if (!security || (tokenRoles === undefined && cookieRoles === undefined)) return undefined;
    const optional = security.some((requirement) => Object.keys(requirement).length === 0);
    const needs =
      tokenRoles === undefined
        ? "a signed-in session"
        : cookieRoles === undefined
          ? "a token (`Authorization: Bearer <token>`)"
          : "a token (`Authorization: Bearer <token>`) or a signed-in session";
    return async (request, reply) => {
      const presented = tokenRoles === undefined ? undefined : bearerToken(request);
      if (presented === "malformed")
        return this.refuse(request, reply, "The Authorization header must be `Bearer <token>`", true);
      if (presented === undefined) {
        const secret = cookieRoles === undefined ? undefined : this.cookie.read(request);
        if (cookieRoles !== undefined && secret !== undefined) {
          const live = await this.accounts.authenticate(secret);
          if (live) return this.signedIn(request, reply, live, cookieRoles, optional);
          // The cookie stands for no session any more (ended, or expired): the browser forgets it.
          this.cookie.clear(reply);
        }
        if (optional) return undefined;
        if (await this.isOn()) return this.refuse(request, reply, `This change needs ${needs}`, false);
        request.caller = ANONYMOUS;
        return this.limitWrites(request, reply);
      }
      const roles = tokenRoles as string[];
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

  /**
   * A request with a live session's cookie: a write must come from the app's own origin (a page of
   * another site can make the browser send the cookie, but not these headers), and the account's
   * kind must suit the operation's scopes.
   */
  private async signedIn(
    request: FastifyRequest,
    reply: FastifyReply,
    live: NonNullable<FastifyRequest["signedIn"]>,
    roles: string[],
    optional: boolean,
  ): Promise<FastifyReply | undefined> {
    request.signedIn = live;
    request.caller = callerForAccount(live.account, live.session.session_id);
    if (optional) return undefined;
    const write = !READS.has(request.method);
    if (write && !this.cookie.fromOwnOrigin(request)) {
      request.log.warn({ account: live.account.account_id }, "cross-site write with a session cookie refused");
      return sendProblem(
        reply.code(403),
        problem(403, "A change made with the session cookie must come from this site's own pages"),
      );
    }
    if (live.account.kind !== "admin" && !roles.includes("owner")) {
      return sendProblem(reply.code(403), problem(403, refusal(request.caller, "admin")));
    }
    return this.limitWrites(request, reply);
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
