/**
 * Webhook delivery wakes for committed changes only while an endpoint is enabled; until its scan
 * has found one, a change committed mid-scan must still bring one more look, or it waits for the
 * next poll (src/domain/webhook-delivery.ts).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { CompiledQuery } from "kysely";
import type { UnitOfWork } from "../../src/db/executor.js";
import { insertWebhook } from "../../src/db/webhooks-repository.js";
import type { ChangeFeed, FeedEvent } from "../../src/domain/changes.js";
import { DEFAULT_WEBHOOK_SETTINGS } from "../../src/domain/settings.js";
import { WebhookDelivery } from "../../src/domain/webhook-delivery.js";
import { createDatabase } from "../support/app.js";
import { eventually } from "../support/eventually.js";

const silent = { info() {}, warn() {}, error() {} } as unknown as ConstructorParameters<typeof WebhookDelivery>[2];

test("a change committed while the scan that finds the first endpoint runs brings one more look, not a wait for the poll", async () => {
  const database = await createDatabase("sqlite", undefined, { prepared: true });
  after(() => database.destroy());
  const { store } = database;

  // The statements the delivery makes, counted; the look for enabled endpoints can be held.
  let dueLooks = 0;
  let enabledLooks = 0;
  let hold: Promise<void> | undefined;
  const isDue = (query: CompiledQuery) => /"lease_until"/.test(query.sql) && /"position" </.test(query.sql);
  const isEnabledLook = (query: CompiledQuery) => /count\(\*\)/.test(query.sql) && /"webhook"/.test(query.sql);
  const watch = async (query: CompiledQuery) => {
    if (isDue(query)) dueLooks++;
    if (isEnabledLook(query)) {
      enabledLooks++;
      await hold;
    }
  };
  const watched: UnitOfWork = {
    engine: store.engine,
    transaction: (work) => store.transaction(work),
    async executeQuery(query) {
      await watch(query);
      return store.executeQuery(query);
    },
    async executeQueryFirst(query) {
      await watch(query);
      return store.executeQueryFirst(query);
    },
  };
  // A feed the test speaks for: it hands the delivery the changes "committed".
  let listener: ((events: FeedEvent[]) => void) | undefined;
  const feed = {
    async subscribe(_since: unknown, onEvents: (events: FeedEvent[]) => void) {
      listener = onEvents;
      return { revision: 0, close() {} };
    },
  } as unknown as ChangeFeed;

  // Polls far apart: only a wake can bring the look this test waits for.
  const delivery = new WebhookDelivery(watched, feed, silent, {
    ...DEFAULT_WEBHOOK_SETTINGS,
    allowPrivate: true,
    pollMs: 600_000,
  });
  after(() => delivery.stop());
  delivery.start();
  // The first look finds no endpoint.
  await eventually(
    async () => enabledLooks,
    (looks) => looks === 1,
    "the first look",
  );
  await eventually(async () => listener !== undefined, Boolean, "the subscription");

  // An endpoint is added here, and the delivery kicked, as the API does; its scan is held at the
  // look that would find it.
  let release = () => {};
  hold = new Promise((resolve) => {
    release = resolve;
  });
  await insertWebhook(store, {
    url: "http://127.0.0.1:9/hook",
    events: JSON.stringify(["note.created"]),
    personId: null,
    enabled: true,
    secret: "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==",
    position: 0,
    createdAt: new Date().toISOString(),
  });
  delivery.kick();
  await eventually(
    async () => enabledLooks,
    (looks) => looks === 2,
    "the held look",
  );
  const duesBefore = dueLooks;

  // A change commits meanwhile.
  listener?.([{ revision: 1, kind: "note.created", personId: 1, resourceId: 1, data: "{}" }]);
  hold = undefined;
  release();

  // The scan looks again for what is due, now that a change is there to send.
  const looks = await eventually(
    async () => dueLooks,
    (count) => count > duesBefore,
    "a look for due endpoints after the change",
    15_000,
  );
  assert.ok(looks > duesBefore);
});
