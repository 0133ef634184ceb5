import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { limits } from "../../openapi/limits.js";
import type { components } from "../../openapi/types.js";
import { TokenService } from "../../src/domain/tokens.js";
import { bearer, engines, type Problem, sendJson, startApp, type TestApp } from "../support/app.js";

type Shown = components["schemas"]["Webhook"];
type Created = components["schemas"]["CreatedWebhook"];
type Delivery = components["schemas"]["WebhookDelivery"];

/** A public address, so that no name is resolved and nothing is refused as private. */
const PUBLIC = "https://93.184.215.14/hooks/people-notes";

for (const engine of engines()) {
  describe(`webhooks (${engine})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startApp({ engine });
    });
    after(() => app.close());

    const create = async (body: object, headers: Record<string, string> = {}) => {
      const response = await sendJson(app, "POST", "/api/webhooks", body, headers);
      assert.equal(response.statusCode, 201, response.body);
      return response.json<Created>();
    };

    test("an endpoint is registered with its secret shown once, and listed without it", async () => {
      const created = await create({ url: PUBLIC, events: ["note.created", "note.deleted"], person_id: 1 });
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      // The secret is one a Standard Webhooks receiver can verify with.
      const signer = new Webhook(created.secret);
      const signature = signer.sign("msg_1", new Date(), "{}");
      assert.doesNotThrow(() =>
        signer.verify("{}", {
          "webhook-id": "msg_1",
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": signature,
        }),
      );
      assert.equal(created.enabled, true);
      assert.deepEqual(created.events, ["note.created", "note.deleted"]);
      assert.equal(created.person_id, 1);
      assert.equal(created.failed_attempts, 0);
      const list = await app.inject({ method: "GET", url: "/api/webhooks" });
      assert.equal(list.statusCode, 200);
      const listed = list.json<Shown[]>().find((w) => w.webhook_id === created.webhook_id);
      assert.ok(listed);
      assert.equal("secret" in listed, false);
      assert.doesNotMatch(list.body, new RegExp(created.secret.slice(6, 30).replace(/[+/]/g, "\\$&")));
      const { secret: _secret, ...withoutSecret } = created;
      assert.deepEqual(listed, withoutSecret);
    });

    test("an endpoint may ask for every kind of change the contract names", async () => {
      const every = limits.enums.WebhookEventKind;
      const created = await create({ url: PUBLIC, events: every });
      assert.deepEqual(created.events, every);
    });

    test("a new endpoint starts at the newest revision: it is sent only what comes after", async () => {
      await app.inject({ method: "POST", url: "/api/people", payload: { fname: "Ada", lname: `L${Date.now()}` } });
      const created = await create({ url: PUBLIC, events: ["person.created"] });
      const newest = await app.store.db
        .selectFrom("change")
        .select((eb) => eb.fn.max("revision").as("max"))
        .executeTakeFirstOrThrow();
      assert.equal(created.position, Number(newest.max));
    });

    test("update changes what it asks for and can disable it; delete removes it", async () => {
      const created = await create({ url: PUBLIC, events: ["note.created"] });
      const url = `/api/webhooks/${created.webhook_id}`;
      const updated = await sendJson(app, "PUT", url, {
        url: `${PUBLIC}/v2`,
        events: ["person.updated"],
        enabled: false,
      });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json<Shown>().url, `${PUBLIC}/v2`);
      assert.deepEqual(updated.json<Shown>().events, ["person.updated"]);
      assert.equal(updated.json<Shown>().enabled, false);
      assert.equal(updated.json<Shown>().person_id, null);
      assert.equal((await sendJson(app, "DELETE", url)).statusCode, 204);
      assert.equal((await sendJson(app, "DELETE", url)).statusCode, 404);
      const missing = await sendJson(app, "PUT", url, { url: PUBLIC, events: ["note.created"] });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<Problem>().detail, `Webhook not found for Id: ${created.webhook_id}`);
    });

    test("rotating gives a new secret; the old one signs beside it for the overlap", async () => {
      const created = await create({ url: PUBLIC, events: ["note.created"] });
      const rotated = await sendJson(app, "POST", `/api/webhooks/${created.webhook_id}/secret`, { overlap_hours: 2 });
      assert.equal(rotated.statusCode, 200, rotated.body);
      assert.equal(rotated.headers["cache-control"], "no-store");
      const body = rotated.json<Created>();
      assert.notEqual(body.secret, created.secret);
      assert.ok(body.previous_secret_expires_at);
      const hours = (Date.parse(body.previous_secret_expires_at) - Date.now()) / 3_600_000;
      assert.ok(hours > 1.9 && hours <= 2, String(hours));
      const stored = await app.store.db
        .selectFrom("webhook")
        .select(["secret", "previous_secret"])
        .where("webhook_id", "=", created.webhook_id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(stored, { secret: body.secret, previous_secret: created.secret });
      const without = await sendJson(app, "POST", `/api/webhooks/${created.webhook_id}/secret`, { overlap_hours: 0 });
      assert.equal(without.json<Created>().previous_secret_expires_at, null);
    });

    test("replay moves the position back; a revision pruned by retention is refused, saying which can be", async () => {
      const created = await create({ url: PUBLIC, events: ["note.created"] });
      const url = `/api/webhooks/${created.webhook_id}/replay`;
      const replayed = await sendJson(app, "POST", url, { from_revision: 1 });
      assert.equal(replayed.statusCode, 200, replayed.body);
      assert.equal(replayed.json<Shown>().position, 0);
      await app.store.db.updateTable("feed_horizon").set({ pruned_through: 3 }).execute();
      try {
        const refused = await sendJson(app, "POST", url, { from_revision: 2 });
        assert.equal(refused.statusCode, 409);
        assert.match(refused.json<Problem>().detail, /no longer kept.*the oldest that can be sent again is 4/);
        assert.equal((await sendJson(app, "POST", url, { from_revision: 4 })).statusCode, 200);
        const ahead = await sendJson(app, "POST", url, { from_revision: 999_999_999 });
        assert.equal(ahead.statusCode, 400);
      } finally {
        await app.store.db.updateTable("feed_horizon").set({ pruned_through: 0 }).execute();
      }
    });

    test("deliveries of an endpoint are listed, and of an unknown one a 404", async () => {
      const created = await create({ url: PUBLIC, events: ["note.created"] });
      const empty = await app.inject({ method: "GET", url: `/api/webhooks/${created.webhook_id}/deliveries` });
      assert.equal(empty.statusCode, 200);
      assert.deepEqual(empty.json<Delivery[]>(), []);
      const unknown = await app.inject({ method: "GET", url: "/api/webhooks/999999/deliveries" });
      assert.equal(unknown.statusCode, 404);
    });

    test("bad input is a 400 that changes nothing", async () => {
      const before = (await app.inject({ method: "GET", url: "/api/webhooks" })).json<Shown[]>().length;
      for (const [body, pointer] of [
        [{ url: "ftp://example.com/x", events: ["note.created"] }, "/url"],
        [{ url: "https://user:pw@93.184.215.14/x", events: ["note.created"] }, "/url"],
        [{ url: PUBLIC, events: [] }, "/events"],
        [{ url: PUBLIC, events: ["note.created", "note.created"] }, "/events"],
        [{ url: PUBLIC, events: ["note.liked"] }, "/events/0"],
        [{ url: PUBLIC, events: ["note.created"], person_id: 0 }, "/person_id"],
        [{ url: PUBLIC, events: ["note.created"], secret: "whsec_mine" }, "/secret"],
        [{ events: ["note.created"] }, "/url"],
      ] as const) {
        const response = await sendJson(app, "POST", "/api/webhooks", body);
        assert.equal(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`);
        const errors = response.json<Problem>().errors ?? [];
        assert.ok(
          errors.some((error) => error.in === "body" && (error.pointer ?? "") === pointer),
          `${JSON.stringify(body)}: ${response.body}`,
        );
      }
      assert.equal((await app.inject({ method: "GET", url: "/api/webhooks" })).json<Shown[]>().length, before);
    });

    test("loopback, private and link-local destinations are refused when registered", async () => {
      for (const url of [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://172.20.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
      ]) {
        const response = await sendJson(app, "POST", "/api/webhooks", { url, events: ["note.created"] });
        assert.equal(response.statusCode, 400, `${url}: ${response.body}`);
        assert.match(response.json<Problem>().detail, /refused/, url);
      }
    });

    test("only admins may see or change webhooks once access control is on", async () => {
      const tokens = new TokenService(app.store);
      const admin = await tokens.create({ kind: "admin", name: "ops" });
      const person = await tokens.create({ kind: "person", personId: 1, name: "phone" });
      try {
        const anonymous = await app.inject({ method: "GET", url: "/api/webhooks" });
        assert.equal(anonymous.statusCode, 401);
        const byPerson = await app.inject({ method: "GET", url: "/api/webhooks", headers: bearer(person.token) });
        assert.equal(byPerson.statusCode, 403);
        const createByPerson = await sendJson(
          app,
          "POST",
          "/api/webhooks",
          { url: PUBLIC, events: ["note.created"] },
          bearer(person.token),
        );
        assert.equal(createByPerson.statusCode, 403);
        const created = await create({ url: PUBLIC, events: ["note.created"] }, bearer(admin.token));
        const rotate = await sendJson(
          app,
          "POST",
          `/api/webhooks/${created.webhook_id}/secret`,
          {},
          bearer(person.token),
        );
        assert.equal(rotate.statusCode, 403);
        const deliveries = await app.inject({
          method: "GET",
          url: `/api/webhooks/${created.webhook_id}/deliveries`,
          headers: bearer(person.token),
        });
        assert.equal(deliveries.statusCode, 403);
      } finally {
        await app.store.db.deleteFrom("token").execute();
      }
    });
  });
}
