import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AccessOptions } from "../../src/app.js";
import { AccountService } from "../../src/domain/accounts.js";
import { sendJson, type TestApp, withStartedApp } from "../support/app.js";

/**
 * Who a request comes from when the server stands behind a balancer (TRUST_PROXY). Which address a
 * request is counted by does not depend on the database engine: these run on SQLite.
 */

const PROXY = "10.0.0.2";
const OTHER_PEER = "10.0.0.9";
const PASSWORD = "a walk in the tall grass";

async function withApp(access: AccessOptions, work: (app: TestApp) => Promise<void>) {
  return withStartedApp({ engine: "sqlite", access }, work);
}

/** A note written from `peer`, which says (or not) who it forwards for. */
async function writeFrom(app: TestApp, peer: string, forwardedFor?: string): Promise<number> {
  const response = await app.inject({
    method: "POST",
    url: "/api/people/1/notes",
    remoteAddress: peer,
    headers: { "content-type": "application/json", ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
    payload: JSON.stringify({ content: "Written through the balancer" }),
  });
  return response.statusCode;
}

async function signInFrom(app: TestApp, peer: string, forwardedFor: string, password: string) {
  return app.inject({
    method: "POST",
    url: "/api/account/sign-in",
    remoteAddress: peer,
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    payload: JSON.stringify({ name: "Doug Farrell", password }),
  });
}

/** The addresses of the account's sessions, as the account sees them. */
async function sessionAddresses(app: TestApp, signedIn: { cookies: { name: string; value: string }[] }) {
  const cookie = signedIn.cookies.find((c) => c.name.endsWith("pn_session"));
  assert.ok(cookie, "signed in");
  const listed = await app.inject({
    url: "/api/account/sessions",
    headers: { cookie: `${cookie.name}=${cookie.value}` },
  });
  assert.equal(listed.statusCode, 200, listed.body);
  return (listed.json() as { address: string | null }[]).map((session) => session.address).sort();
}

/** Doug Farrell's account, with PASSWORD, made through an invite. */
async function accountWithPassword(app: TestApp): Promise<void> {
  const { code } = await new AccountService(app.store, undefined).invite(
    { kind: "admin" },
    1,
    "setup",
    7,
    "http://notes.example",
  );
  const accepted = await sendJson(app, "POST", "/api/invites/accept", { code, password: PASSWORD });
  assert.equal(accepted.statusCode, 200, accepted.body);
}

const WRITES_2 = { writesPerMinute: 2, failedSignInsPerMinute: 0 };

describe("TRUST_PROXY", () => {
  test("behind a trusted proxy each client has its own per-address write limit", () =>
    withApp({ trustProxy: [PROXY], rateLimits: WRITES_2 }, async (app) => {
      const first = [];
      for (let i = 0; i < 3; i++) first.push(await writeFrom(app, PROXY, "203.0.113.1"));
      assert.deepEqual(first, [201, 201, 429]);
      assert.equal(await writeFrom(app, PROXY, "203.0.113.2"), 201, "another client through the same proxy");
    }));

  test("a trusted range counts the same, IPv6 and IPv4-mapped peers included", () =>
    withApp({ trustProxy: ["10.0.0.0/24", "fd00::/8"], rateLimits: WRITES_2 }, async (app) => {
      assert.equal(await writeFrom(app, "::ffff:10.0.0.7", "203.0.113.1"), 201);
      assert.equal(await writeFrom(app, "fd00::7", "203.0.113.1"), 201);
      assert.equal(await writeFrom(app, PROXY, "203.0.113.1"), 429, "one client, through three proxies of the range");
      assert.equal(await writeFrom(app, PROXY, "2001:db8::1"), 201);
    }));

  test("a peer that is not trusted is counted by its own address, whatever X-Forwarded-For says", () =>
    withApp({ trustProxy: [PROXY], rateLimits: WRITES_2 }, async (app) => {
      const statuses = [];
      for (const claimed of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
        statuses.push(await writeFrom(app, OTHER_PEER, claimed));
      }
      assert.deepEqual(statuses, [201, 201, 429]);
    }));

  test("off (the default), even a proxy's X-Forwarded-For is ignored", () =>
    withApp({ rateLimits: WRITES_2 }, async (app) => {
      const statuses = [];
      for (const claimed of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
        statuses.push(await writeFrom(app, PROXY, claimed));
      }
      assert.deepEqual(statuses, [201, 201, 429]);
    }));

  test("addresses a client wrote into X-Forwarded-For itself, before the proxy's, are not believed", () =>
    withApp({ trustProxy: [PROXY], rateLimits: WRITES_2 }, async (app) => {
      // The proxy appends the address it saw; what came before it is the client's own word.
      const statuses = [];
      for (const spoofed of ["198.51.100.1", "198.51.100.2", "127.0.0.1"]) {
        statuses.push(await writeFrom(app, PROXY, `${spoofed}, 203.0.113.1`));
      }
      assert.deepEqual(statuses, [201, 201, 429]);
    }));

  test("failed sign-ins are limited per client behind a trusted proxy", () =>
    withApp({ trustProxy: [PROXY], rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 2 } }, async (app) => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await signInFrom(app, PROXY, "203.0.113.1", `guess ${i}`)).statusCode);
      assert.deepEqual(statuses, [401, 401, 429]);
      const other = await signInFrom(app, PROXY, "203.0.113.2", "another guess");
      assert.equal(other.statusCode, 401, "another client through the same proxy still gets its answer");
    }));

  test("a session records the client's address from a trusted proxy, and the peer's from any other", () =>
    withApp({ trustProxy: [PROXY] }, async (app) => {
      await accountWithPassword(app);
      const proxied = await signInFrom(app, PROXY, "203.0.113.7", PASSWORD);
      assert.equal(proxied.statusCode, 200, proxied.body);
      const direct = await signInFrom(app, OTHER_PEER, "203.0.113.8", PASSWORD);
      assert.equal(direct.statusCode, 200, direct.body);
      const addresses = await sessionAddresses(app, direct);
      assert.ok(addresses.includes("203.0.113.7"), `the client behind the proxy: ${addresses.join(", ")}`);
      assert.ok(addresses.includes(OTHER_PEER), `the untrusted peer itself: ${addresses.join(", ")}`);
      assert.ok(!addresses.includes("203.0.113.8"), "never what an untrusted peer claims");
    }));

  test("the site's own origin is the scheme and host a trusted proxy reports, and never what another peer claims", () =>
    withApp({ trustProxy: [PROXY] }, async (app) => {
      await accountWithPassword(app);
      // A sign-in posted by the app's page at https://notes.example, reaching the server as plain HTTP.
      const signIn = (peer: string) =>
        app.inject({
          method: "POST",
          url: "/api/account/sign-in",
          remoteAddress: peer,
          headers: {
            "content-type": "application/json",
            origin: "https://notes.example",
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-proto": "https",
            "x-forwarded-host": "notes.example",
          },
          payload: JSON.stringify({ name: "Doug Farrell", password: PASSWORD }),
        });
      const proxied = await signIn(PROXY);
      assert.equal(proxied.statusCode, 200, `through the proxy, the page's own origin: ${proxied.body}`);
      const direct = await signIn(OTHER_PEER);
      assert.equal(direct.statusCode, 403, `from another peer, another site's origin: ${direct.body}`);
    }));

  test("/metrics stays loopback-only: a proxy on loopback forwards remote clients, a remote proxy no loopback one", () =>
    withApp({ trustProxy: ["127.0.0.1", PROXY] }, async (app) => {
      const scrape = (peer: string, forwardedFor?: string) =>
        app.inject({
          url: "/metrics",
          remoteAddress: peer,
          headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {},
        });
      assert.equal((await scrape("127.0.0.1")).statusCode, 200, "a scraper on this host");
      assert.equal((await scrape("127.0.0.1", "203.0.113.1")).statusCode, 403, "a remote client through a local proxy");
      assert.equal((await scrape(PROXY, "127.0.0.1")).statusCode, 403, "a client on the proxy's own host");
    }));
});
