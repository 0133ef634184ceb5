import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { Redis } from "ioredis";
import { type AccessOptions, buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { AccountService } from "../../src/domain/accounts.js";
import { PasswordHasher } from "../../src/domain/passwords.js";
import { TokenService } from "../../src/domain/tokens.js";
import {
  appOn,
  createDatabase,
  type Engine,
  engines,
  sendJson,
  startApp,
  TEST_PASSWORD_COST,
  type TestApp,
  withStartedApp,
} from "../support/app.js";

/** A hasher that notes every check it runs (by the cost of the hash checked against) and every hash it makes. */
class CountingHasher extends PasswordHasher {
  readonly checks: string[] = [];
  hashes = 0;

  override async verify(password: string, stored: string): Promise<boolean> {
    this.checks.push(stored.split("$").slice(0, 4).join("$"));
    return super.verify(password, stored);
  }

  override async hash(password: string): Promise<string> {
    this.hashes++;
    return super.hash(password);
  }
}

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** The origin of requests made with inject: its Host is `localhost:80`. */
const OWN_ORIGIN = "http://localhost:80";
const ADMIN = { kind: "admin" } as const;
const PASSWORD = "a walk in the tall grass";

async function withApp(engine: Engine, access: AccessOptions, work: (app: TestApp) => Promise<void>) {
  return withStartedApp({ engine, access }, work);
}

/** An invite for the person, made as the CLI or an admin would. */
async function inviteFor(app: TestApp, personId: number, kind: "setup" | "reset" = "setup", now?: Date) {
  const accounts = new AccountService(app.store, undefined, undefined, now ? () => now : undefined);
  return accounts.invite(ADMIN, personId, kind, 7, "http://notes.example");
}

const post = (app: TestApp, url: string, body: object, headers: Record<string, string> = {}) =>
  sendJson(app, "POST", url, body, headers);

function sessionCookie(response: LightMyRequestResponse) {
  const cookie = response.cookies.find((c) => c.name.endsWith("pn_session"));
  assert.ok(cookie, `a session cookie is set: ${JSON.stringify(response.headers["set-cookie"])}`);
  return cookie;
}

const withCookie = (cookie: { name: string; value: string }, headers: Record<string, string> = {}) => ({
  cookie: `${cookie.name}=${cookie.value}`,
  ...headers,
});

/** Accepts a setup invite for the person with PASSWORD; returns the session cookie. */
async function signedUp(app: TestApp, personId: number) {
  const { code } = await inviteFor(app, personId);
  const accepted = await post(app, "/api/invites/accept", { code, password: PASSWORD });
  assert.equal(accepted.statusCode, 200, accepted.body);
  return sessionCookie(accepted);
}

async function signIn(app: TestApp, name: string, password: string, headers: Record<string, string> = {}) {
  return post(app, "/api/account/sign-in", { name, password }, headers);
}

const writeNote = (app: TestApp, personId: number, headers: Record<string, string>) =>
  post(app, `/api/people/${personId}/notes`, { content: "Written while signed in" }, headers);

for (const engine of engines()) {
  describe(`accounts: invites (${engine})`, () => {
    test("an invite sets the password and signs in, once; the account then signs in by its name", () =>
      withApp(engine, {}, async (app) => {
        const { code, link, account } = await inviteFor(app, 1);
        assert.equal(account.name, "Doug Farrell");
        assert.equal(link, `http://notes.example/invite#${code}`);
        const accepted = await post(app, "/api/invites/accept", { code, password: PASSWORD });
        assert.equal(accepted.statusCode, 200, accepted.body);
        const state = accepted.json();
        assert.equal(state.account.name, "Doug Farrell");
        assert.deepEqual(state.account.person, { person_id: 1, fname: "Doug", lname: "Farrell" });
        assert.equal(state.access_control, true, "an account with a password turns access control on");

        const again = await post(app, "/api/invites/accept", { code, password: "another good password" });
        assert.equal(again.statusCode, 400, "an invite works once");
        assert.equal(again.cookies.length, 0);

        const signedIn = await signIn(app, "doug  FARRELL", PASSWORD);
        assert.equal(signedIn.statusCode, 200, signedIn.body);
        const me = await app.inject({ url: "/api/account", headers: withCookie(sessionCookie(signedIn)) });
        assert.equal(me.json().account.name, "Doug Farrell");
        assert.equal((await signIn(app, "Doug Farrell", "another good password")).statusCode, 401);
      }));

    test("the server keeps a password as scrypt at OWASP's cost (N = 2^17, r = 8, p = 1), salted", () =>
      // The other tests hash at TEST_PASSWORD_COST; this app has the server's own hasher.
      withApp(engine, { passwordCost: undefined }, async (app) => {
        for (const personId of [1, 2]) {
          const { code } = await inviteFor(app, personId);
          assert.equal((await post(app, "/api/invites/accept", { code, password: PASSWORD })).statusCode, 200);
        }
        const hashes = await app.store.db.selectFrom("account").select("password_hash").orderBy("person_id").execute();
        assert.equal(hashes.length, 2);
        for (const { password_hash } of hashes)
          assert.match(password_hash ?? "", /^scrypt\$17\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
        assert.notEqual(hashes[0]?.password_hash, hashes[1]?.password_hash, "the same password, salted apart");
        assert.equal((await signIn(app, "Doug Farrell", PASSWORD)).statusCode, 200);
      }));

    test("an invite that has expired is refused, as an unknown one is", () =>
      withApp(engine, {}, async (app) => {
        const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
        const { code } = await inviteFor(app, 2, "setup", eightDaysAgo);
        const expired = await post(app, "/api/invites/accept", { code, password: PASSWORD });
        assert.equal(expired.statusCode, 400, expired.body);
        const unknown = await post(app, "/api/invites/accept", { code: `pi_${"A".repeat(43)}`, password: PASSWORD });
        assert.equal(unknown.statusCode, 400);
        assert.deepEqual(unknown.json(), expired.json());
        assert.equal((await signIn(app, "Kent Brockman", PASSWORD)).statusCode, 401, "no password was set");
      }));

    test("a reset invite replaces the password and ends every session of the account", () =>
      withApp(engine, {}, async (app) => {
        const before = await signedUp(app, 1);
        const { code } = await inviteFor(app, 1, "reset");
        const reset = await post(app, "/api/invites/accept", { code, password: "a brand new passphrase" });
        assert.equal(reset.statusCode, 200, reset.body);
        const me = await app.inject({ url: "/api/account", headers: withCookie(before) });
        assert.equal(me.json().account, null, "the old session is over");
        assert.equal((await signIn(app, "Doug Farrell", PASSWORD)).statusCode, 401);
        assert.equal((await signIn(app, "Doug Farrell", "a brand new passphrase")).statusCode, 200);
      }));

    test("invites.create is for admins; it makes the person's account and a link", () =>
      withApp(engine, {}, async (app) => {
        const doug = await signedUp(app, 1);
        const own = { origin: OWN_ORIGIN };
        const refused = await post(app, "/api/invites", { person_id: 2 }, withCookie(doug, own));
        assert.equal(refused.statusCode, 403, refused.body);
        const { token } = await new TokenService(app.store).create({ kind: "admin", name: "ops" });
        const made = await post(
          app,
          "/api/invites",
          { person_id: 2, expires_in_days: 1 },
          {
            authorization: `Bearer ${token}`,
          },
        );
        assert.equal(made.statusCode, 201, made.body);
        const invite = made.json();
        assert.equal(invite.account_name, "Kent Brockman");
        assert.equal(invite.link, `${OWN_ORIGIN}/invite#${invite.code}`);
        const missing = await post(app, "/api/invites", { person_id: 99 }, { authorization: `Bearer ${token}` });
        assert.equal(missing.statusCode, 404);
        const accepted = await post(app, "/api/invites/accept", { code: invite.code, password: PASSWORD });
        assert.equal(accepted.statusCode, 200, accepted.body);
      }));

    test("new passwords: too short, too long once normalised, or commonly used are refused with a reason", () =>
      withApp(engine, {}, async (app) => {
        const { code } = await inviteFor(app, 3);
        const common = await post(app, "/api/invites/accept", { code, password: "baseball1" });
        assert.equal(common.statusCode, 400);
        assert.match(common.json().detail, /most commonly used/);
        const short = await post(app, "/api/invites/accept", { code, password: "short" });
        assert.equal(short.statusCode, 400);
        // One character that NFKC turns into 18: within the contract's 256, past it once normalised.
        const long = await post(app, "/api/invites/accept", { code, password: "\uFDFA".repeat(20) });
        assert.equal(long.statusCode, 400);
        assert.match(long.json().detail, /at most 256/);
        const accepted = await post(app, "/api/invites/accept", { code, password: "Ｆｕｌｌ　ｗｉｄｔｈ pass" });
        assert.equal(accepted.statusCode, 200, "the invite was not used by the refusals");
        assert.equal((await signIn(app, "Bunny Easter", "Full width pass")).statusCode, 200, "NFKC: the same password");
      }));

    test("with SIGN_UP=open anyone makes their own person and account; names stay unique", () =>
      withApp(engine, { accounts: { signUp: "open" } }, async (app) => {
        const made = await post(app, "/api/invites/accept", { fname: "Lisa", lname: "Simpson", password: PASSWORD });
        assert.equal(made.statusCode, 200, made.body);
        assert.equal(made.json().sign_up, "open");
        const person = made.json().account.person;
        assert.equal((await app.inject({ url: `/api/people/${person.person_id}` })).statusCode, 200);
        const taken = await post(app, "/api/invites/accept", { fname: "doug", lname: "farrell", password: PASSWORD });
        assert.equal(taken.statusCode, 409);
      }));

    test("with SIGN_UP=invite (the default) nobody signs up without an invite", () =>
      withApp(engine, {}, async (app) => {
        const refused = await post(app, "/api/invites/accept", { fname: "Lisa", lname: "Simpson", password: PASSWORD });
        assert.equal(refused.statusCode, 400);
        const people = (await app.inject({ url: "/api/people?q=Simpson" })).json() as unknown[];
        assert.equal(people.length, 0);
      }));
  });

  describe(`accounts: sessions (${engine})`, () => {
    test("the cookie is HttpOnly, SameSite=Lax, Path=/, not Secure over http, and its id changes at each sign-in", () =>
      withApp(engine, {}, async (app) => {
        const first = await signedUp(app, 1);
        assert.equal(first.name, "pn_session");
        assert.equal(first.httpOnly, true);
        assert.equal(first.sameSite, "Lax");
        assert.equal(first.path, "/");
        assert.notEqual(first.secure, true);
        assert.ok(Number(first.maxAge) > 89 * 86_400, "kept by the browser until the absolute expiry");
        const second = sessionCookie(await signIn(app, "Doug Farrell", PASSWORD, withCookie(first)));
        assert.notEqual(second.value, first.value);
        const old = await app.inject({ url: "/api/account", headers: withCookie(first) });
        assert.equal(old.json().account, null, "signing in again ends the session the browser had");
      }));

    test("with an https PUBLIC_URL the cookie is Secure and __Host- prefixed", () =>
      withApp(engine, { accounts: { publicUrl: "https://notes.example" } }, async (app) => {
        const cookie = await signedUp(app, 1);
        assert.equal(cookie.name, "__Host-pn_session");
        assert.equal(cookie.secure, true);
        assert.equal(cookie.path, "/");
        assert.equal(cookie.domain, undefined);
      }));

    test("a write with the session cookie is made only from the app's own origin; a bearer token is unaffected", () =>
      withApp(engine, {}, async (app) => {
        const cookie = await signedUp(app, 1);
        const crossSite: Record<string, string>[] = [
          { origin: "http://evil.example" },
          { "sec-fetch-site": "cross-site" },
          { "sec-fetch-site": "same-site", origin: OWN_ORIGIN },
          {},
        ];
        for (const headers of crossSite) {
          const refused = await writeNote(app, 1, withCookie(cookie, headers));
          assert.equal(refused.statusCode, 403, `${JSON.stringify(headers)}: ${refused.body}`);
          assert.match(refused.json().detail, /this site's own pages/);
        }
        const notes = (await app.inject({ url: "/api/people/1/notes" })).json() as { content: string }[];
        assert.ok(!notes.some((n) => n.content === "Written while signed in"), "nothing was written");
        assert.equal((await writeNote(app, 1, withCookie(cookie, { origin: OWN_ORIGIN }))).statusCode, 201);
        const sameOrigin = withCookie(cookie, { "sec-fetch-site": "same-origin" });
        assert.equal((await writeNote(app, 1, sameOrigin)).statusCode, 201);
        assert.equal((await writeNote(app, 2, sameOrigin)).statusCode, 403, "a person's account writes as them only");

        const { token } = await new TokenService(app.store).create({ kind: "person", personId: 1, name: "script" });
        const bearer = await writeNote(app, 1, { authorization: `Bearer ${token}`, origin: "http://evil.example" });
        assert.equal(bearer.statusCode, 201);
      }));

    test("sign-in from another site's page is refused", () =>
      withApp(engine, {}, async (app) => {
        await signedUp(app, 1);
        const refused = await signIn(app, "Doug Farrell", PASSWORD, { origin: "http://evil.example" });
        assert.equal(refused.statusCode, 403);
        assert.equal(refused.cookies.length, 0);
      }));

    test("a person sees their sessions and ends one; signing out ends the current one", () =>
      withApp(engine, {}, async (app) => {
        const phone = await signedUp(app, 1);
        const laptop = sessionCookie(await signIn(app, "Doug Farrell", PASSWORD, { "user-agent": "Laptop/1.0" }));
        const listed = await app.inject({ url: "/api/account/sessions", headers: withCookie(laptop) });
        assert.equal(listed.statusCode, 200, listed.body);
        const sessions = listed.json() as { session_id: number; current: boolean; user_agent: string | null }[];
        assert.equal(sessions.length, 2);
        const current = sessions.find((s) => s.current);
        const other = sessions.find((s) => !s.current);
        assert.equal(current?.user_agent, "Laptop/1.0");
        assert.ok(other);

        const own = { origin: OWN_ORIGIN };
        const ended = await app.inject({
          method: "DELETE",
          url: `/api/account/sessions/${other.session_id}`,
          headers: withCookie(laptop, own),
        });
        assert.equal(ended.statusCode, 204, ended.body);
        assert.equal((await writeNote(app, 1, withCookie(phone, own))).statusCode, 401, "the phone is signed out");
        const again = await app.inject({
          method: "DELETE",
          url: `/api/account/sessions/${other.session_id}`,
          headers: withCookie(laptop, own),
        });
        assert.equal(again.statusCode, 404);

        const out = await post(app, "/api/account/sign-out", {}, withCookie(laptop, own));
        assert.equal(out.statusCode, 204, out.body);
        assert.equal((await writeNote(app, 1, withCookie(laptop, own))).statusCode, 401);
      }));

    test("ending a session in one server process refuses it in another on the same database", async () => {
      const first = await startApp({ engine });
      const second = await appOn(first.database, first.database.openAnother());
      try {
        const cookie = await signedUp(first, 1);
        const own = { origin: OWN_ORIGIN };
        assert.equal((await writeNote(second, 1, withCookie(cookie, own))).statusCode, 201);
        const out = await post(first, "/api/account/sign-out", {}, withCookie(cookie, own));
        assert.equal(out.statusCode, 204);
        const refused = await writeNote(second, 1, withCookie(cookie, own));
        assert.equal(refused.statusCode, 401, refused.body);
      } finally {
        await second.app.close();
        await first.close();
      }
    });

    test("changing the password needs the current one, rotates the session, and ends the others", () =>
      withApp(engine, {}, async (app) => {
        const other = await signedUp(app, 1);
        const mine = sessionCookie(await signIn(app, "Doug Farrell", PASSWORD));
        const own = { origin: OWN_ORIGIN };
        const change = (cookie: { name: string; value: string }, current: string) =>
          app.inject({
            method: "PUT",
            url: "/api/account/password",
            headers: withCookie(cookie, { ...own, "content-type": "application/json" }),
            payload: JSON.stringify({ current_password: current, new_password: "an entirely new phrase" }),
          });
        assert.equal((await change(mine, "not the password")).statusCode, 403);
        const changed = await change(mine, PASSWORD);
        assert.equal(changed.statusCode, 204, changed.body);
        const rotated = sessionCookie(changed);
        assert.notEqual(rotated.value, mine.value);
        assert.equal((await writeNote(app, 1, withCookie(rotated, own))).statusCode, 201);
        assert.equal((await writeNote(app, 1, withCookie(mine, own))).statusCode, 401);
        assert.equal((await writeNote(app, 1, withCookie(other, own))).statusCode, 401);
        assert.equal((await signIn(app, "Doug Farrell", "an entirely new phrase")).statusCode, 200);
      }));

    test("a session unused for SESSION_IDLE_DAYS is over", () =>
      withApp(engine, {}, async (app) => {
        const cookie = await signedUp(app, 1);
        const longAgo = new Date(Date.now() - 15 * 86_400_000).toISOString();
        await app.store.db.updateTable("account_session").set({ last_seen_at: longAgo }).execute();
        const me = await app.inject({ url: "/api/account", headers: withCookie(cookie) });
        assert.equal(me.json().account, null);
      }));

    test("a session is over SESSION_MAX_DAYS after sign-in, however recently used; its cookie is cleared", () =>
      withApp(engine, { accounts: { maxDays: 30 } }, async (app) => {
        const cookie = await signedUp(app, 1);
        const own = { origin: OWN_ORIGIN };
        const row = await app.store.db
          .selectFrom("account_session")
          .select(["session_id", "created_at", "expires_at"])
          .executeTakeFirstOrThrow();
        assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 30 * 86_400_000, "30 days after sign-in");
        assert.equal((await writeNote(app, 1, withCookie(cookie, own))).statusCode, 201, "live until then");

        // Used a moment ago (well within SESSION_IDLE_DAYS), but past its absolute end.
        const justNow = new Date(Date.now() - 1_000).toISOString();
        const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
        await app.store.db
          .updateTable("account_session")
          .set({ last_seen_at: justNow, expires_at: aMinuteAgo })
          .where("session_id", "=", row.session_id)
          .execute();

        const me = await app.inject({ url: "/api/account", headers: withCookie(cookie) });
        assert.equal(me.statusCode, 200, me.body);
        assert.equal(me.json().account, null, "no longer signed in");
        const cleared = me.cookies.find((c) => c.name === cookie.name);
        assert.ok(cleared, `the cookie is cleared: ${JSON.stringify(me.headers["set-cookie"])}`);
        assert.equal(cleared.value, "");
        assert.ok(cleared.expires && cleared.expires.getTime() <= Date.now(), "cleared: it expires at once");

        const write = await writeNote(app, 1, withCookie(cookie, own));
        assert.equal(write.statusCode, 401, write.body);
        assert.ok(
          write.cookies.some((c) => c.name === cookie.name && c.value === ""),
          "a write with it clears it too",
        );
      }));
  });

  describe(`accounts: sign-in (${engine})`, () => {
    test("an unknown name and a name without a password spend the same password check as a wrong password", () =>
      withApp(engine, {}, async (app) => {
        await signedUp(app, 1);
        await inviteFor(app, 2);
        const hasher = new CountingHasher(TEST_PASSWORD_COST);
        const accounts = new AccountService(app.store, undefined, undefined, undefined, hasher);
        const client = { userAgent: null, address: null };
        /** The scrypt checks one refused sign-in ran, each by the cost of the hash it checked against. */
        const checksFor = async (name: string) => {
          hasher.checks.length = 0;
          await assert.rejects(accounts.signIn(name, "not the password at all", client), { status: 401 });
          return [...hasher.checks];
        };
        const wrongPassword = await checksFor("Doug Farrell");
        assert.deepEqual(wrongPassword, ["scrypt$10$8$1"], "a wrong password: one check at the stored cost");
        assert.deepEqual(await checksFor("Someone Unknown"), wrongPassword, "an unknown name");
        assert.deepEqual(await checksFor("Kent Brockman"), wrongPassword, "a name with an account but no password");
        assert.deepEqual(await checksFor("Someone Else Unknown"), wrongPassword, "another unknown name");
        assert.ok(hasher.hashes <= 1, `the hash checked against is made once, not at every sign-in: ${hasher.hashes}`);
      }));

    test("an unknown name and a wrong password get the same answer", () =>
      withApp(engine, {}, async (app) => {
        await signedUp(app, 1);
        const { code } = await inviteFor(app, 2);
        assert.ok(code, "Kent has an account with no password yet");
        const answers = [
          await signIn(app, "Doug Farrell", "not the password at all"),
          await signIn(app, "Nobody Here", "not the password at all"),
          await signIn(app, "Kent Brockman", "not the password at all"),
        ];
        const shape = (response: LightMyRequestResponse) => ({
          status: response.statusCode,
          type: response.headers["content-type"],
          body: response.json(),
          cookies: response.cookies.length,
          headers: Object.keys(response.headers)
            .filter((name) => !["date", "x-request-id", "content-length"].includes(name))
            .sort(),
        });
        const [first, ...others] = answers.map(shape);
        assert.equal(first?.status, 401);
        for (const other of others) assert.deepEqual(other, first);
      }));

    test("password attempts past the limit for one name get 429 with Retry-After, the right password too", () =>
      withApp(
        engine,
        { rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 100, signInsPerAccountPerMinute: 3 } },
        async (app) => {
          await signedUp(app, 1);
          const statuses = [];
          for (let i = 0; i < 3; i++) statuses.push((await signIn(app, "Doug Farrell", `wrong guess ${i}`)).statusCode);
          assert.deepEqual(statuses, [401, 401, 401]);
          const limited = await signIn(app, "doug farrell", PASSWORD);
          assert.equal(limited.statusCode, 429, limited.body);
          assert.ok(Number(limited.headers["retry-after"]) >= 1);
          assert.equal(limited.cookies.length, 0);
          assert.equal(
            (await signIn(app, "Kent Brockman", "some guess")).statusCode,
            401,
            "another name is not limited",
          );
        },
      ));

    test("password attempts past the limit for one address get 429, whatever the name", () =>
      withApp(engine, { rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 3 } }, async (app) => {
        const statuses = [];
        for (const name of ["A One", "B Two", "C Three", "D Four"]) {
          statuses.push((await signIn(app, name, "some password")).statusCode);
        }
        assert.deepEqual(statuses, [401, 401, 401, 429]);
      }));
  });

  describe(`accounts: password change limit (${engine})`, () => {
    test("guessing the current password with a stolen session meets the limit of the account's name", () =>
      withApp(
        engine,
        { rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 100, signInsPerAccountPerMinute: 2 } },
        async (app) => {
          const cookie = await signedUp(app, 1);
          const statuses = [];
          for (let i = 0; i < 3; i++) {
            const response = await app.inject({
              method: "PUT",
              url: "/api/account/password",
              headers: withCookie(cookie, { origin: OWN_ORIGIN, "content-type": "application/json" }),
              payload: JSON.stringify({ current_password: `guess number ${i}`, new_password: "a new long phrase" }),
            });
            statuses.push(response.statusCode);
          }
          assert.deepEqual(statuses, [403, 403, 429]);
          assert.equal((await signIn(app, "Doug Farrell", PASSWORD)).statusCode, 429, "one limit for the name");
        },
      ));
  });

  describe(`accounts: personal access tokens (${engine})`, () => {
    test("a person makes, lists and revokes their own tokens; an admin sees everyone's", () =>
      withApp(engine, {}, async (app) => {
        const doug = await signedUp(app, 1);
        const own = { origin: OWN_ORIGIN };
        const made = await post(
          app,
          "/api/tokens",
          { name: "Doug's phone", expires_in_days: 30 },
          withCookie(doug, own),
        );
        assert.equal(made.statusCode, 201, made.body);
        const created = made.json();
        assert.equal(created.person_id, 1);
        assert.match(created.token, /^pn_/);
        assert.equal((await writeNote(app, 1, { authorization: `Bearer ${created.token}` })).statusCode, 201);

        const others = new TokenService(app.store);
        const kents = await others.create({ kind: "person", personId: 2, name: "Kent's" });
        const admin = await others.create({ kind: "admin", name: "ops" });
        const forKent = await post(app, "/api/tokens", { name: "x", person_id: 2 }, withCookie(doug, own));
        assert.equal(forKent.statusCode, 403);
        const adminToken = await post(app, "/api/tokens", { name: "x", kind: "admin" }, withCookie(doug, own));
        assert.equal(adminToken.statusCode, 403);

        const mine = await app.inject({ url: "/api/tokens", headers: withCookie(doug) });
        assert.deepEqual(
          (mine.json() as { token_id: number }[]).map((t) => t.token_id),
          [created.token_id],
          "only Doug's own",
        );
        assert.ok(!mine.body.includes(created.token), "never the secret");
        const notMine = await app.inject({
          method: "DELETE",
          url: `/api/tokens/${kents.row.token_id}`,
          headers: withCookie(doug, own),
        });
        assert.equal(notMine.statusCode, 404);

        const everyone = await app.inject({ url: "/api/tokens", headers: { authorization: `Bearer ${admin.token}` } });
        assert.equal((everyone.json() as unknown[]).length, 3);
        const revoked = await app.inject({
          method: "DELETE",
          url: `/api/tokens/${created.token_id}`,
          headers: withCookie(doug, own),
        });
        assert.equal(revoked.statusCode, 204);
        assert.equal((await writeNote(app, 1, { authorization: `Bearer ${created.token}` })).statusCode, 401);
      }));
  });

  describe(`accounts: loopback (${engine})`, () => {
    test("on loopback with no accounts writes stay open; an account without a password changes nothing", () =>
      withApp(engine, {}, async (app) => {
        await inviteFor(app, 1);
        const me = await app.inject({ url: "/api/account" });
        assert.deepEqual(me.json(), { access_control: false, sign_up: "invite", account: null, token: null });
        assert.equal((await writeNote(app, 1, {})).statusCode, 201);
        assert.equal((await app.inject({ url: "/api/session" })).json().access_control, false);
      }));
  });

  test(`passwords never appear in the log (${engine})`, async () => {
    const database = await createDatabase(engine);
    const written: string[] = [];
    try {
      await prepareDatabase(database.store);
      const app = await buildApp({
        store: database.store,
        access: { passwordCost: TEST_PASSWORD_COST },
        logger: { level: "trace", stream: { write: (line: string) => written.push(line) } },
      });
      const started: TestApp = {
        engine,
        app,
        store: database.store,
        database,
        inject: (options) => app.inject(options),
        close: () => app.close(),
      };
      const secrets = ["first secret phrase", "second secret phrase", "wrong secret phrase", "bad\u0000secret"];
      const { code } = await inviteFor(started, 1);
      await post(started, "/api/invites/accept", { code: "pi_nonsense", password: secrets[3] });
      const cookie = sessionCookie(await post(started, "/api/invites/accept", { code, password: secrets[0] }));
      await signIn(started, "Doug Farrell", secrets[2] as string);
      await signIn(started, "Nobody", secrets[2] as string);
      await started.inject({
        method: "PUT",
        url: "/api/account/password",
        headers: withCookie(cookie, { origin: OWN_ORIGIN, "content-type": "application/json" }),
        payload: JSON.stringify({ current_password: secrets[0], new_password: secrets[1] }),
      });
      await app.close();
      const log = written.join("");
      assert.ok(log.includes("/api/account/sign-in"), "the requests were logged");
      for (const secret of secrets) {
        assert.ok(!log.includes(secret.replace("\u0000", "")), `the log never holds ${JSON.stringify(secret)}`);
        assert.ok(!log.includes(JSON.stringify(secret).slice(1, -1)), "not even escaped");
      }
      assert.ok(!log.includes(cookie.value), "nor a session's secret");
      assert.ok(!log.includes(code.slice(3)), "nor an invite's code");
    } finally {
      await database.destroy();
    }
  });
}

describe("sign-in limits shared through Redis", () => {
  test("two processes with one Redis count one limit per name", async () => {
    const redis = new Redis(REDIS_URL, {
      connectTimeout: 2_000,
      maxRetriesPerRequest: 1,
      keyPrefix: `test-accounts-${process.pid}-${Date.now()}-`,
    });
    const rateLimits = { writesPerMinute: 0, failedSignInsPerMinute: 100, signInsPerAccountPerMinute: 2 };
    const first = await startApp({ engine: "sqlite", access: { redis, rateLimits } });
    const second = await appOn(first.database, first.database.openAnother(), { redis, rateLimits });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const app = i % 2 === 0 ? first : second;
        statuses.push((await signIn(app, "Someone Unknown", "some password")).statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 429, 429]);
    } finally {
      await second.app.close();
      await first.close();
      redis.disconnect();
    }
  });
});
