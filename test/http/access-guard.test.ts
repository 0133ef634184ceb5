import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import cookie from "@fastify/cookie";
import Fastify, { type FastifyInstance } from "fastify";
import type { AccountService, LiveSession } from "../../src/domain/accounts.js";
import type { Principal, TokenService } from "../../src/domain/tokens.js";
import { AccessControl } from "../../src/http/access.js";
import type { RateLimits } from "../../src/http/rate-limits.js";
import { SessionCookie } from "../../src/http/session-cookie.js";
import type { SecurityRequirement } from "../../src/http/spec.js";

const SESSION_SECRET = "live-session";
const TOKEN = "pn_live_token";
/** The origin of requests made with inject: its Host is `localhost:80`. */
const OWN_ORIGIN = "http://localhost:80";

/** A live session and a live token, each known by its one secret: what the guard is told they are. */
const accounts = {
  async authenticate(secret: string) {
    if (secret !== SESSION_SECRET) return undefined;
    return {
      account: { account_id: 7, name: "Doug Farrell", kind: "person", person_id: 1, name_key: "doug farrell" },
      session: { session_id: 11 },
    } as unknown as LiveSession;
  },
  anyCredential: async () => true,
} as unknown as AccountService;
const tokens = {
  async authenticate(secret: string): Promise<Principal | undefined> {
    return secret === TOKEN
      ? { tokenId: 3, prefix: "pn_live", name: "script", kind: "person", personId: 1 }
      : undefined;
  },
} as unknown as TokenService;
const limits = {
  write: async () => ({ allowed: true }),
  failedSignIn: async () => ({ allowed: true }),
} as unknown as RateLimits;

/**
 * Made-up operations, one per kind of `security`, each answering who the guard took the caller
 * to be: the contract's own operations all declare both schemes (test/api/spec.test.ts).
 */
const OPERATIONS: Record<string, SecurityRequirement[]> = {
  both: [{ bearerAuth: ["owner"] }, { cookieAuth: ["owner"] }],
  "token-only": [{ bearerAuth: ["owner"] }],
  "token-only-optional": [{ bearerAuth: [] }, {}],
  "cookie-only": [{ cookieAuth: ["owner"] }],
};

describe("the guard of an operation takes only the schemes its security lists", () => {
  let app: FastifyInstance;

  before(async () => {
    const sessionCookie = new SessionCookie({ secure: false });
    const access = new AccessControl(tokens, "always", limits, accounts, sessionCookie);
    app = Fastify();
    await app.register(cookie);
    for (const [name, security] of Object.entries(OPERATIONS)) {
      const guard = access.guardFor(security);
      assert.ok(guard, `${name} has a guard`);
      app.post(`/${name}`, { onRequest: guard }, async (request) => ({
        signedIn: request.signedIn !== undefined,
        token: request.principal !== undefined,
      }));
      app.get(`/${name}`, { onRequest: guard }, async (request) => ({
        signedIn: request.signedIn !== undefined,
        token: request.principal !== undefined,
      }));
    }
    await app.ready();
  });
  after(() => app.close());

  const withSession = { cookie: `pn_session=${SESSION_SECRET}`, origin: OWN_ORIGIN };
  const withToken = { authorization: `Bearer ${TOKEN}` };

  test("an operation that lists both takes either", async () => {
    const signedIn = await app.inject({ method: "POST", url: "/both", headers: withSession });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    assert.deepEqual(signedIn.json(), { signedIn: true, token: false });
    const token = await app.inject({ method: "POST", url: "/both", headers: withToken });
    assert.equal(token.statusCode, 200, token.body);
    assert.deepEqual(token.json(), { signedIn: false, token: true });
  });

  test("a session cookie on an operation that lists only bearerAuth is not taken as signed in", async () => {
    const write = await app.inject({ method: "POST", url: "/token-only", headers: withSession });
    assert.equal(write.statusCode, 401, write.body);
    assert.match(write.json().detail, /needs a token \(`Authorization: Bearer <token>`\)$/);
    assert.equal(write.cookies.length, 0, "the cookie is not cleared: it stays good where sessions are taken");
    const read = await app.inject({ method: "GET", url: "/token-only-optional", headers: withSession });
    assert.equal(read.statusCode, 200, read.body);
    assert.deepEqual(read.json(), { signedIn: false, token: false });
    const token = await app.inject({ method: "POST", url: "/token-only", headers: withToken });
    assert.deepEqual(token.json(), { signedIn: false, token: true });
  });

  test("a bearer token on an operation that lists only cookieAuth is not taken", async () => {
    const write = await app.inject({ method: "POST", url: "/cookie-only", headers: withToken });
    assert.equal(write.statusCode, 401, write.body);
    assert.match(write.json().detail, /needs a signed-in session$/);
    const signedIn = await app.inject({ method: "POST", url: "/cookie-only", headers: withSession });
    assert.deepEqual(signedIn.json(), { signedIn: true, token: false });
  });
});
