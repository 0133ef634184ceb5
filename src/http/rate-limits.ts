import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { AppMetrics } from "./metrics.js";
import "./session-cookie.js";
import { problem, sendProblem } from "./problems.js";
import type { RateLimitSettings } from "./settings.js";

const WINDOW_MS = 60_000;

declare module "fastify" {
  interface FastifyRequest {
    /** The key of the name a password sign-in is for, which its per-account limit counts by. */
    signInNameKey?: string;
  }
}

export interface Verdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

const UNLIMITED: Verdict = { allowed: true, limit: 0, remaining: 0, resetSeconds: 0 };

type Check = ReturnType<FastifyInstance["createRateLimit"]>;

/**
 * The two limits, counted by @fastify/rate-limit: in this process, or in Redis (shared by every
 * process) when one is given. A Redis that does not answer lets requests through rather than
 * refusing them all.
 */
export class RateLimits {
  private constructor(
    private readonly settings: RateLimitSettings,
    private readonly writes: Check,
    private readonly signIns: Check,
    private readonly accountSignIns: Check,
    private readonly metrics?: AppMetrics,
  ) {}

  static async register(
    app: FastifyInstance,
    settings: RateLimitSettings,
    redis?: Redis,
    metrics?: AppMetrics,
  ): Promise<RateLimits> {
    await app.register(rateLimit, {
      global: false,
      timeWindow: WINDOW_MS,
      skipOnError: true,
      nameSpace: "people-notes-rate-",
      ...(redis ? { redis } : {}),
    });
    const writes = app.createRateLimit({
      max: settings.writesPerMinute,
      keyGenerator: (request) =>
        request.principal
          ? `write:token:${request.principal.tokenId}`
          : request.signedIn
            ? `write:account:${request.signedIn.account.account_id}`
            : `write:address:${request.ip}`,
    });
    const signIns = app.createRateLimit({
      max: settings.failedSignInsPerMinute,
      keyGenerator: (request) => `sign-in:address:${request.ip}`,
    });
    // Keyed by a hash of the name: a limit's key never holds what someone typed.
    const accountSignIns = app.createRateLimit({
      max: settings.signInsPerAccountPerMinute ?? 0,
      keyGenerator: (request) =>
        `sign-in:account:${createHash("sha256")
          .update(request.signInNameKey ?? "")
          .digest("base64url")}`,
    });
    return new RateLimits(settings, writes, signIns, accountSignIns, metrics);
  }

  /** Counts a write and says whether it may go ahead; the RateLimit headers go on the reply either way. */
  async write(request: FastifyRequest, reply: FastifyReply): Promise<Verdict> {
    if (this.settings.writesPerMinute === 0) return UNLIMITED;
    const verdict = toVerdict(await this.writes(request));
    setHeaders(reply, verdict);
    if (!verdict.allowed) this.metrics?.rateLimitRefused("writes");
    return verdict;
  }

  /** Counts a refused sign-in and says whether it may still be answered 401 (else 429). */
  async failedSignIn(request: FastifyRequest): Promise<Verdict> {
    if (this.settings.failedSignInsPerMinute === 0) return UNLIMITED;
    const verdict = toVerdict(await this.signIns(request));
    if (!verdict.allowed) this.metrics?.rateLimitRefused("sign-ins");
    return verdict;
  }

  /**
   * Counts a password attempt for a name (whether an account has it or not) and says whether it may
   * be tried; the client address's count is `failedSignIn`. Both are counted before the password
   * is checked, so an attempt past either limit costs no hash.
   */
  async nameSignIn(request: FastifyRequest, nameKey: string): Promise<Verdict> {
    if (!this.settings.signInsPerAccountPerMinute) return UNLIMITED;
    request.signInNameKey = nameKey;
    const verdict = toVerdict(await this.accountSignIns(request));
    if (!verdict.allowed) this.metrics?.rateLimitRefused("sign-ins");
    return verdict;
  }

  refuse(reply: FastifyReply, verdict: Verdict, detail: string): FastifyReply {
    setHeaders(reply, verdict);
    reply.header("retry-after", String(verdict.resetSeconds));
    return sendProblem(reply.code(429), problem(429, detail));
  }
}

function toVerdict(result: Awaited<ReturnType<Check>>): Verdict {
  if (result.isAllowed) return UNLIMITED;
  return {
    allowed: !result.isExceeded,
    limit: result.max,
    remaining: result.remaining,
    resetSeconds: Math.max(1, result.ttlInSeconds),
  };
}

function setHeaders(reply: FastifyReply, verdict: Verdict): void {
  reply.header("ratelimit-limit", String(verdict.limit));
  reply.header("ratelimit-remaining", String(verdict.remaining));
  reply.header("ratelimit-reset", String(verdict.resetSeconds));
}
