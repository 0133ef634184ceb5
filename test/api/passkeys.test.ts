import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { AccountService } from "../../src/domain/accounts.js";
import { TokenService } from "../../src/domain/tokens.js";
import { type Engine, engines, sendJson, type TestApp, withStartedApp } from "../support/app.js";
import { SoftAuthenticator } from "../support/webauthn.js";

/** Requests made with inject name the host `localhost:80`: the relying party is `localhost`. */
const ORIGIN = "http://localhost:80";
const OWN = { origin: ORIGIN };

async function withApp(engine: Engine, work: (app: TestApp) => Promise<void>) {
  return withStartedApp({ engine }, work);
}

const post = (app: TestApp, url: string, body: object, headers: Record<string, string> = {}) =>
  sendJson(app, "POST", url, body, headers);

function cookieOf(response: LightMyRequestResponse) {
  const cookie = response.cookies.find((c) => c.name === "pn_session");
  assert.ok(cookie, `a session cookie is set: ${response.body}`);
  return `${cookie.name}=${cookie.value}`;
}

async function invite(app: TestApp, personId: number, kind: "setup" | "reset" = "setup") {
  return (await new AccountService(app.store, undefined).invite({ kind: "admin" }, personId, kind, 7, ORIGIN)).code;
}

/** Adds a passkey with the invite's code, as the invite page would; returns the new session's cookie. */
async function acceptWithPasskey(app: TestApp, code: string, authenticator: SoftAuthenticator) {
  const options = await post(app, "/api/account/passkey/options", { purpose: "register", code }, OWN);
  assert.equal(options.statusCode, 200, options.body);
  const { challenge_id, options: creation } = options.json();
  assert.equal(creation.rp.id, "localhost");
  assert.equal(creation.authenticatorSelection.residentKey, "required");
  const verified = await post(
    app,
    "/api/account/passkey/verify",
    { challenge_id, response: authenticator.register(creation), name: "Phone" },
    OWN,
  );
  assert.equal(verified.statusCode, 200, verified.body);
  return { cookie: cookieOf(verified), state: verified.json() };
}

async function signInWithPasskey(app: TestApp, authenticator: SoftAuthenticator, origin = ORIGIN) {
  const options = await post(app, "/api/account/passkey/options", { purpose: "sign_in" }, OWN);
  assert.equal(options.statusCode, 200, options.body);
  const { challenge_id, options: request } = options.json();
  assert.equal(request.rpId, "localhost");
  return post(
    app,
    "/api/account/passkey/verify",
    { challenge_id, response: authenticator.authenticate(request, origin) },
    OWN,
  );
}

for (const engine of engines()) {
  describe(`passkeys (${engine})`, () => {
    test("an invite accepted with a passkey signs in; the passkey then signs in with one button", () =>
      withApp(engine, async (app) => {
        const phone = new SoftAuthenticator(ORIGIN, "localhost");
        const { state } = await acceptWithPasskey(app, await invite(app, 1), phone);
        assert.equal(state.account.name, "Doug Farrell");
        assert.equal(state.access_control, true, "an account with a passkey turns access control on");

        const signedIn = await signInWithPasskey(app, phone);
        assert.equal(signedIn.statusCode, 200, signedIn.body);
        assert.equal(signedIn.json().account.name, "Doug Farrell");
        const write = await post(
          app,
          "/api/people/1/notes",
          { content: "With a passkey" },
          { cookie: cookieOf(signedIn), ...OWN },
        );
        assert.equal(write.statusCode, 201, write.body);
      }));

    test("an unknown passkey, a wrong origin and a used challenge are refused", () =>
      withApp(engine, async (app) => {
        const phone = new SoftAuthenticator(ORIGIN, "localhost");
        await acceptWithPasskey(app, await invite(app, 1), phone);
        const stranger = new SoftAuthenticator(ORIGIN, "localhost");
        stranger.register({ challenge: "AAAA", user: { id: "x" } });
        const unknown = await signInWithPasskey(app, stranger);
        assert.equal(unknown.statusCode, 401);
        const phishing = await signInWithPasskey(app, phone, "http://evil.example");
        assert.equal(phishing.statusCode, 401);
        assert.deepEqual(phishing.json(), unknown.json(), "the same answer");

        const options = await post(app, "/api/account/passkey/options", { purpose: "sign_in" }, OWN);
        const { challenge_id, options: request } = options.json();
        const first = await post(
          app,
          "/api/account/passkey/verify",
          { challenge_id, response: phone.authenticate(request) },
          OWN,
        );
        assert.equal(first.statusCode, 200, first.body);
        const replay = await post(
          app,
          "/api/account/passkey/verify",
          { challenge_id, response: phone.authenticate(request) },
          OWN,
        );
        assert.equal(replay.statusCode, 400, "a challenge is used once");
      }));

    test("a signed-in person adds a passkey; a reset invite removes it", () =>
      withApp(engine, async (app) => {
        const accepted = await post(app, "/api/invites/accept", {
          code: await invite(app, 2),
          password: "a fine long passphrase",
        });
        const cookie = cookieOf(accepted);
        const laptop = new SoftAuthenticator(ORIGIN, "localhost");
        const options = await post(app, "/api/account/passkey/options", { purpose: "register" }, { cookie, ...OWN });
        assert.equal(options.statusCode, 200, options.body);
        const { challenge_id, options: creation } = options.json();
        const added = await post(
          app,
          "/api/account/passkey/verify",
          { challenge_id, response: laptop.register(creation) },
          { cookie, ...OWN },
        );
        assert.equal(added.statusCode, 200, added.body);
        assert.equal(added.cookies.length, 0, "the session stays as it was");
        assert.equal((await signInWithPasskey(app, laptop)).statusCode, 200);

        const phone = new SoftAuthenticator(ORIGIN, "localhost");
        await acceptWithPasskey(app, await invite(app, 2, "reset"), phone);
        assert.equal((await signInWithPasskey(app, laptop)).statusCode, 401, "the old passkey is gone");
        assert.equal((await signInWithPasskey(app, phone)).statusCode, 200);
        const password = await post(app, "/api/account/sign-in", {
          name: "Kent Brockman",
          password: "a fine long passphrase",
        });
        assert.equal(password.statusCode, 401, "and so is the old password");
      }));

    test("adding a passkey needs a session or an invite; a used invite is refused", () =>
      withApp(engine, async (app) => {
        const code = await invite(app, 3);
        await acceptWithPasskey(app, code, new SoftAuthenticator(ORIGIN, "localhost"));
        const nobody = await post(app, "/api/account/passkey/options", { purpose: "register" }, OWN);
        assert.equal(nobody.statusCode, 401, "with accounts about, still none of them");
        const used = await post(app, "/api/account/passkey/options", { purpose: "register", code }, OWN);
        assert.equal(used.statusCode, 400);
        const crossSite = await post(
          app,
          "/api/account/passkey/options",
          { purpose: "sign_in" },
          { origin: "http://evil.example" },
        );
        assert.equal(crossSite.statusCode, 403);
      }));

    test("a person lists, renames and removes their passkeys, but not their last way in", () =>
      withApp(engine, async (app) => {
        const phone = new SoftAuthenticator(ORIGIN, "localhost");
        const { cookie } = await acceptWithPasskey(app, await invite(app, 1), phone);
        const own = { cookie, ...OWN };
        const listed = await app.inject({ method: "GET", url: "/api/account/passkeys", headers: { cookie } });
        assert.equal(listed.statusCode, 200, listed.body);
        const [only] = listed.json();
        assert.deepEqual(Object.keys(only).sort(), ["created_at", "last_used_at", "name", "passkey_id"]);
        assert.equal(only.name, "Phone");

        const renamed = await sendJson(
          app,
          "PUT",
          `/api/account/passkeys/${only.passkey_id}`,
          { name: "  Work phone " },
          own,
        );
        assert.equal(renamed.statusCode, 200, renamed.body);
        assert.equal(renamed.json().name, "Work phone");

        const last = await sendJson(app, "DELETE", `/api/account/passkeys/${only.passkey_id}`, undefined, own);
        assert.equal(last.statusCode, 409, "the only passkey of an account with no password stays");
        assert.match(String(last.headers["content-type"]), /^application\/problem\+json/);
        assert.equal((await signInWithPasskey(app, phone)).statusCode, 200);

        const laptop = new SoftAuthenticator(ORIGIN, "localhost");
        const options = await post(app, "/api/account/passkey/options", { purpose: "register" }, own);
        const { challenge_id, options: creation } = options.json();
        const added = await post(
          app,
          "/api/account/passkey/verify",
          { challenge_id, response: laptop.register(creation), name: "Laptop" },
          own,
        );
        assert.equal(added.statusCode, 200, added.body);
        const both = (await app.inject({ method: "GET", url: "/api/account/passkeys", headers: { cookie } })).json();
        assert.deepEqual(
          both.map((passkey: { name: string }) => passkey.name),
          ["Work phone", "Laptop"],
        );
        const removed = await sendJson(app, "DELETE", `/api/account/passkeys/${only.passkey_id}`, undefined, own);
        assert.equal(removed.statusCode, 204, removed.body);
        assert.equal((await signInWithPasskey(app, phone)).statusCode, 401, "a removed passkey signs in no more");
        assert.equal((await signInWithPasskey(app, laptop)).statusCode, 200);
      }));

    test("a passkey-only account sets a first password without a current one; then the last passkey may go", () =>
      withApp(engine, async (app) => {
        const phone = new SoftAuthenticator(ORIGIN, "localhost");
        const { cookie, state } = await acceptWithPasskey(app, await invite(app, 2), phone);
        assert.equal(state.account.password, false);
        const own = { cookie, ...OWN };
        const set = await sendJson(
          app,
          "PUT",
          "/api/account/password",
          { new_password: "a fine long passphrase" },
          own,
        );
        assert.equal(set.statusCode, 204, set.body);
        const renewed = cookieOf(set);
        const again = await sendJson(
          app,
          "PUT",
          "/api/account/password",
          { new_password: "another fine passphrase" },
          { cookie: renewed, ...OWN },
        );
        assert.equal(again.statusCode, 403, "once there is a password, the current one is needed");
        const read = await app.inject({ method: "GET", url: "/api/account", headers: { cookie: renewed } });
        assert.equal(read.json().account.password, true);

        const [passkey] = (
          await app.inject({ method: "GET", url: "/api/account/passkeys", headers: { cookie: renewed } })
        ).json();
        const removed = await sendJson(app, "DELETE", `/api/account/passkeys/${passkey.passkey_id}`, undefined, {
          cookie: renewed,
          ...OWN,
        });
        assert.equal(removed.statusCode, 204, removed.body);
        const password = await post(app, "/api/account/sign-in", {
          name: "Kent Brockman",
          password: "a fine long passphrase",
        });
        assert.equal(password.statusCode, 200, "the password is the way in now");
      }));

    test("another account's passkey is not found, and a token has no passkeys", () =>
      withApp(engine, async (app) => {
        const { cookie: dougs } = await acceptWithPasskey(
          app,
          await invite(app, 1),
          new SoftAuthenticator(ORIGIN, "localhost"),
        );
        const { cookie: kents } = await acceptWithPasskey(
          app,
          await invite(app, 2),
          new SoftAuthenticator(ORIGIN, "localhost"),
        );
        const [dougsKey] = (
          await app.inject({ method: "GET", url: "/api/account/passkeys", headers: { cookie: dougs } })
        ).json();
        const url = `/api/account/passkeys/${dougsKey.passkey_id}`;
        const kent = { cookie: kents, ...OWN };
        assert.equal((await sendJson(app, "PUT", url, { name: "Mine now" }, kent)).statusCode, 404);
        assert.equal((await sendJson(app, "DELETE", url, undefined, kent)).statusCode, 404);
        const crossSite = await sendJson(
          app,
          "PUT",
          url,
          { name: "Evil" },
          { cookie: dougs, origin: "http://evil.example" },
        );
        assert.equal(crossSite.statusCode, 403);
        const token = await new TokenService(app.store).create({ kind: "admin", name: "script" });
        const byToken = await app.inject({
          method: "GET",
          url: "/api/account/passkeys",
          headers: { authorization: `Bearer ${token.token}` },
        });
        assert.equal(byToken.statusCode, 403);
      }));
  });
}
