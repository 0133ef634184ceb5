import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import type { components } from "../../openapi/types.js";
import type { AppOptions } from "../../src/app.js";
import { pruneChanges } from "../../src/db/changes/repository.js";
import { appOn, engines, sendJson, startApp, type TestApp } from "../support/app.js";
import { eventually } from "../support/eventually.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

type Shown = components["schemas"]["Webhook"];
type Created = components["schemas"]["CreatedWebhook"];
type Delivery = components["schemas"]["WebhookDelivery"];
type Payload = components["schemas"]["WebhookPayload"];

/** Fast retries and polls, and loopback allowed: the receiver is in this process. */
const FAST: NonNullable<AppOptions["webhooks"]> = {
  deliver: true,
  allowPrivate: true,
  retryBaseMs: 10,
  retryMaxMs: 40,
  pollMs: 20,
  timeoutMs: 2_000,
  connectTimeoutMs: 1_000,
};

const verified = (secret: string, received: { headers: Record<string, string>; body: string }) =>
  new Webhook(secret).verify(received.body, received.headers) as Payload;

for (const engine of engines()) {
  describe(`webhook delivery (${engine})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function setUp(webhooks: AppOptions["webhooks"] = FAST) {
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      const app = await startApp({ engine, webhooks });
      cleanups.push(() => app.close());
      return { receiver, app };
    }

    async function register(app: TestApp, body: object): Promise<Created> {
      const response = await sendJson(app, "POST", "/api/webhooks", body);
      assert.equal(response.statusCode, 201, response.body);
      return response.json<Created>();
    }

    async function addNote(app: TestApp, personId: number, content: string): Promise<void> {
      const response = await sendJson(app, "POST", `/api/people/${personId}/notes`, { content });
      assert.equal(response.statusCode, 201, response.body);
    }

    const deliveries = async (app: TestApp, webhookId: number) =>
      (await app.inject({ method: "GET", url: `/api/webhooks/${webhookId}/deliveries?limit=200` })).json<Delivery[]>();

    test("every change asked for arrives once, in order, signed so that a Standard Webhooks receiver verifies it", async () => {
      const { receiver, app } = await setUp();
      const hook = await register(app, { url: receiver.url, events: ["note.created", "note.deleted"], person_id: 1 });
      await addNote(app, 2, "someone else's: not asked for");
      for (let i = 1; i <= 5; i++) await addNote(app, 1, `note ${i}`);
      assert.equal(
        (await sendJson(app, "PUT", "/api/people/1", { fname: "Douglas", lname: "Farrell" })).statusCode,
        200,
      );
      await receiver.until(() => receiver.received.length >= 5, "five deliveries");
      const payloads = receiver.received.map((received) => verified(hook.secret, received));
      assert.deepEqual(
        payloads.map((p) => [p.type, (p.data.resource as { content: string }).content]),
        [1, 2, 3, 4, 5].map((i) => ["note.created", `note ${i}`]),
      );
      const revisions = payloads.map((p) => p.data.revision);
      assert.deepEqual(
        revisions,
        [...revisions].sort((a, b) => a - b),
      );
      for (const [i, received] of receiver.received.entries()) {
        assert.equal(received.headers["webhook-id"], `msg_${hook.webhook_id}_${revisions[i]}`);
        assert.equal(received.headers["content-type"], "application/json");
        assert.equal(payloads[i]?.data.person_id, 1);
      }
      // A forged or altered delivery is refused by the same check.
      const first = receiver.received[0];
      assert.ok(first);
      assert.throws(() => verified(hook.secret, { ...first, body: first.body.replace("note 1", "note 9") }));
      const log = await eventually(
        () => deliveries(app, hook.webhook_id),
        (rows) => rows.length === 5,
        "the log",
      );
      assert.ok(log.every((row) => row.outcome === "delivered" && row.response_status === 200 && row.attempt === 1));
      // Nothing more comes: the other person's note and the rename were passed over.
      const shown = await eventually(
        async () => (await app.inject({ method: "GET", url: "/api/webhooks" })).json<Shown[]>()[0],
        (row) => row !== undefined && row.position > (revisions.at(-1) ?? 0),
        "the position to pass the rename",
      );
      assert.equal(shown?.failed_attempts, 0);
      assert.equal(receiver.received.length, 5);
    });

    test("during a rotation's overlap both secrets verify; after a rotation without one only the new", async () => {
      const { receiver, app } = await setUp();
      const hook = await register(app, { url: receiver.url, events: ["note.created"] });
      const rotated = (
        await sendJson(app, "POST", `/api/webhooks/${hook.webhook_id}/secret`, { overlap_hours: 1 })
      ).json<Created>();
      await addNote(app, 1, "overlap");
      await receiver.until(() => receiver.received.length >= 1, "a delivery");
      const [during] = receiver.received;
      assert.ok(during);
      assert.equal(during.headers["webhook-signature"]?.split(" ").length, 2);
      verified(hook.secret, during);
      verified(rotated.secret, during);
      const again = (
        await sendJson(app, "POST", `/api/webhooks/${hook.webhook_id}/secret`, { overlap_hours: 0 })
      ).json<Created>();
      await addNote(app, 1, "no overlap");
      await receiver.until(() => receiver.received.length >= 2, "a second delivery");
      const afterwards = receiver.received[1];
      assert.ok(afterwards);
      verified(again.secret, afterwards);
      assert.throws(() => verified(rotated.secret, afterwards));
    });

    test("a receiver that fails three times then recovers gets every change once it does, in order, with the same ids", async () => {
      const { receiver, app } = await setUp();
      receiver.behaviour = (_received, index) => (index < 3 ? 500 : 200);
      const hook = await register(app, { url: receiver.url, events: ["note.created"] });
      for (let i = 1; i <= 3; i++) await addNote(app, 1, `note ${i}`);
      await receiver.until(() => receiver.received.length >= 6, "three failures and three deliveries");
      const ids = receiver.received.map((received) => received.headers["webhook-id"]);
      assert.equal(new Set(ids.slice(0, 4)).size, 1, "the first change was retried under one id");
      assert.deepEqual(
        receiver.received
          .slice(3)
          .map((received) => (verified(hook.secret, received).data.resource as { content: string }).content),
        ["note 1", "note 2", "note 3"],
      );
      const log = await eventually(
        () => deliveries(app, hook.webhook_id),
        (rows) => rows.length === 6,
        "the log",
      );
      assert.deepEqual(
        log.reverse().map((row) => [row.outcome, row.attempt, row.response_status]),
        [
          ["failed", 1, 500],
          ["failed", 2, 500],
          ["failed", 3, 500],
          ["delivered", 4, 200],
          ["delivered", 1, 200],
          ["delivered", 1, 200],
        ],
      );
      // The pauses grew between the retries.
      const gaps = receiver.received
        .slice(0, 4)
        .map((r, i, all) => r.at - (all[i - 1]?.at ?? r.at))
        .slice(1);
      assert.equal(gaps.length, 3);
    });

    test("a redirect is not followed and counts as a failure", async () => {
      const { receiver, app } = await setUp();
      receiver.behaviour = (_received, index, response) => {
        if (index > 0) return 200;
        response.writeHead(307, { location: "http://127.0.0.1:1/elsewhere" }).end();
        return "handled";
      };
      const hook = await register(app, { url: receiver.url, events: ["note.created"] });
      await addNote(app, 1, "moved");
      await receiver.until(() => receiver.received.length >= 2, "the retry");
      const log = await eventually(
        () => deliveries(app, hook.webhook_id),
        (rows) => rows.length === 2,
        "the log",
      );
      assert.match(log[1]?.error ?? "", /redirect, not followed/);
      assert.equal(log[1]?.response_status, 307);
    });

    test("a receiver that hangs is cut off at the timeout, and one that never stops answering at the read cap", async () => {
      const { receiver, app } = await setUp({ ...FAST, timeoutMs: 300, connectTimeoutMs: 300 });
      receiver.behaviour = (_received, index, response) => {
        if (index === 0) return "hang";
        if (index === 1) {
          // An endless answer: only its first few KiB are read.
          response.writeHead(200, { "content-type": "text/plain" });
          const chunk = "x".repeat(64 * 1024);
          const more = () => {
            while (!response.destroyed && response.write(chunk)) {}
            if (!response.destroyed) response.once("drain", more);
          };
          more();
          return "handled";
        }
        return 200;
      };
      const hook = await register(app, { url: receiver.url, events: ["note.created"] });
      await addNote(app, 1, "slow");
      await addNote(app, 1, "next");
      const log = await eventually(
        () => deliveries(app, hook.webhook_id),
        (rows) => rows.length >= 3,
        "the log",
      );
      const [next, endless, hung] = log;
      assert.equal(hung?.outcome, "failed");
      assert.match(hung?.error ?? "", /no complete answer within 300 ms/);
      assert.ok((hung?.duration_ms ?? 0) < 1_000);
      assert.equal(endless?.outcome, "delivered");
      assert.ok((endless?.duration_ms ?? Infinity) < 300, "the endless answer was not read to the timeout");
      assert.equal(next?.outcome, "delivered");
    });

    test("an endpoint that keeps failing past the retry period is disabled, with the reason shown", async () => {
      const { receiver, app } = await setUp({ ...FAST, retryForMs: 150 });
      receiver.behaviour = () => 503;
      const hook = await register(app, { url: receiver.url, events: ["note.created"] });
      await addNote(app, 1, "never arrives");
      const shown = await eventually(
        async () => (await app.inject({ method: "GET", url: "/api/webhooks" })).json<Shown[]>()[0],
        (row) => row?.enabled === false,
        "the endpoint to be disabled",
      );
      assert.match(shown?.disabled_reason ?? "", /could not be delivered since .* attempts; the last: answered 503/);
      const attempts = receiver.received.length;
      assert.ok(attempts >= 2, String(attempts));
      // Enabled again (the receiver fixed), it carries on from the change it stopped at.
      receiver.behaviour = () => 200;
      const enabled = await sendJson(app, "PUT", `/api/webhooks/${hook.webhook_id}`, {
        url: receiver.url,
        events: ["note.created"],
        enabled: true,
      });
      assert.equal(enabled.json<Shown>().disabled_reason, null);
      await receiver.until(() => receiver.received.length > attempts, "the delivery after enabling");
      assert.equal(
        (
          verified(hook.secret, receiver.received.at(-1) ?? { headers: {}, body: "" }).data.resource as {
            content: string;
          }
        ).content,
        "never arrives",
      );
    });

    test("changes the feed's retention pruned before an endpoint got them are logged as skipped; the rest still arrive", async () => {
      const { receiver, app } = await setUp();
      const hook = await register(app, { url: receiver.url, events: ["note.created"], enabled: false });
      const from = hook.position;
      for (let i = 1; i <= 5; i++) await addNote(app, 1, `note ${i}`);
      // The feed's own pruning with a retention of two changes, while the endpoint (disabled) had none of them.
      const pruned = await app.store.transaction((tx) => pruneChanges(tx, 2, new Date(0).toISOString()));
      assert.equal(pruned, from + 3, "three of the five changes pruned");
      const enabled = await sendJson(app, "PUT", `/api/webhooks/${hook.webhook_id}`, {
        url: receiver.url,
        events: ["note.created"],
        enabled: true,
      });
      assert.equal(enabled.statusCode, 200, enabled.body);

      await receiver.until(() => receiver.received.length >= 2, "the two changes still kept");
      assert.deepEqual(
        receiver.received.map(
          (received) => (verified(hook.secret, received).data.resource as { content: string }).content,
        ),
        ["note 4", "note 5"],
      );
      const log = await eventually(
        () => deliveries(app, hook.webhook_id),
        (rows) => rows.length === 3,
        "the log",
      );
      const oldestFirst = [...log].reverse();
      const skipped = oldestFirst[0];
      assert.ok(skipped);
      assert.deepEqual(
        {
          revision: skipped.revision,
          kind: skipped.kind,
          outcome: skipped.outcome,
          attempt: skipped.attempt,
          response_status: skipped.response_status,
          error: skipped.error,
        },
        {
          revision: pruned,
          kind: "feed.pruned",
          outcome: "skipped",
          attempt: 0,
          response_status: null,
          error: `changes after revision ${from} through ${pruned} were pruned by the feed's retention before they were sent`,
        },
      );
      assert.deepEqual(
        oldestFirst.slice(1).map((row) => [row.revision, row.outcome]),
        [
          [pruned + 1, "delivered"],
          [pruned + 2, "delivered"],
        ],
      );
      // Nor can they be sent again: a replay from a pruned revision is refused, saying so.
      const replay = await sendJson(app, "POST", `/api/webhooks/${hook.webhook_id}/replay`, {
        from_revision: from + 1,
      });
      assert.equal(replay.statusCode, 409, replay.body);
    });

    test("changes committed while no process delivered, and a lease left by a dead one, are all sent after a restart", async () => {
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      // The first process writes and never delivers (it is gone before it could).
      const first = await startApp({ engine, webhooks: { allowPrivate: true } });
      let firstClosed = false;
      cleanups.push(async () => {
        if (!firstClosed) await first.close();
      });
      const hook = await register(first, { url: receiver.url, events: ["note.created"] });
      for (let i = 1; i <= 4; i++) await addNote(first, 1, `while down ${i}`);
      // A process killed mid-delivery leaves its lease behind, for a moment.
      const leaseUntil = Date.now() + 300;
      await first.store.db
        .updateTable("webhook")
        .set({ lease_owner: "killed", lease_until: leaseUntil })
        .where("webhook_id", "=", hook.webhook_id)
        .execute();
      await first.app.close();
      firstClosed = true;
      const second = await appOn(first.database, first.database.openAnother(), undefined, undefined, undefined, FAST);
      cleanups.push(async () => {
        await second.app.close();
        await first.database.destroy();
      });
      await receiver.until(() => receiver.received.length >= 4, "the four changes");
      assert.ok((receiver.received[0]?.at ?? 0) >= leaseUntil - 50, "nothing was sent while the lease held");
      assert.deepEqual(
        receiver.received.map((r) => (verified(hook.secret, r).data.resource as { content: string }).content),
        [1, 2, 3, 4].map((i) => `while down ${i}`),
      );
    });

    test("two processes on one database deliver each change once, never two at a time for one endpoint", async () => {
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      receiver.delayMs = 5;
      const first = await startApp({ engine, webhooks: FAST });
      const second = await appOn(first.database, first.database.openAnother(), undefined, undefined, undefined, FAST);
      cleanups.push(async () => {
        await second.app.close();
        await first.close();
      });
      const hook = await register(first, { url: receiver.url, events: ["note.created"] });
      const count = 30;
      // Written through both, so both processes' feeds see changes and both look for work.
      for (let i = 1; i <= count; i++) await addNote(i % 2 === 0 ? first : second, 1, `note ${i}`);
      await receiver.until(() => receiver.received.length >= count, `${count} deliveries`);
      await eventually(
        async () => receiver.inFlight,
        (inFlight) => inFlight === 0,
        "the last answer",
      );
      const contents = receiver.received.map(
        (r) => (verified(hook.secret, r).data.resource as { content: string }).content,
      );
      assert.deepEqual(
        contents,
        Array.from({ length: count }, (_, i) => `note ${i + 1}`),
      );
      assert.equal(receiver.maxInFlight, 1);
    });

    test("an endpoint registered through another process is found by the next poll of one that had seen none", async () => {
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      // The process the endpoint is registered through never delivers; the one written through
      // does, and had looked and found no endpoint before it was registered.
      const registering = await startApp({ engine, webhooks: { allowPrivate: true } });
      const pollMs = 300;
      const delivering = await appOn(
        registering.database,
        registering.database.openAnother(),
        undefined,
        undefined,
        undefined,
        { ...FAST, pollMs },
      );
      cleanups.push(async () => {
        await delivering.app.close();
        await registering.close();
      });
      await addNote(delivering, 1, "before any endpoint");
      await sleep(2 * pollMs);
      const hook = await register(registering, { url: receiver.url, events: ["note.created"] });
      const writtenAt = Date.now();
      for (let i = 1; i <= 3; i++) await addNote(delivering, 1, `after ${i}`);
      await receiver.until(() => receiver.received.length >= 3, "the three changes");
      assert.deepEqual(
        receiver.received.map((r) => (verified(hook.secret, r).data.resource as { content: string }).content),
        ["after 1", "after 2", "after 3"],
      );
      const waited = (receiver.received[0]?.at ?? Number.POSITIVE_INFINITY) - writtenAt;
      // Within the poll, with room for a busy machine.
      assert.ok(waited < pollMs + 3_000, `the first change came ${waited} ms after its write`);
    });

    test("a loopback destination is refused at delivery time too, after resolving the name", async () => {
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      // Registered where private addresses are allowed…
      const first = await startApp({ engine, webhooks: { allowPrivate: true } });
      const byName = await register(first, {
        url: receiver.url.replace("127.0.0.1", "localhost"),
        events: ["note.created"],
      });
      const byAddress = await register(first, { url: receiver.url, events: ["note.created"] });
      await first.app.close();
      // …delivered by a process where they are not.
      const second = await appOn(first.database, first.database.openAnother(), undefined, undefined, undefined, {
        ...FAST,
        allowPrivate: false,
      });
      cleanups.push(async () => {
        await second.app.close();
        await first.database.destroy();
      });
      await addNote(second, 1, "to loopback");
      for (const hook of [byName, byAddress]) {
        const log = await eventually(
          () => deliveries(second, hook.webhook_id),
          (rows) => rows.length >= 1,
          "an attempt",
        );
        assert.equal(log[0]?.outcome, "failed");
        assert.match(log[0]?.error ?? "", /(127\.0\.0\.1|::1), a loopback address: refused/);
      }
      assert.equal(receiver.received.length, 0);
    });
  });
}
