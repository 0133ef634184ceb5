import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import type { components } from "../../openapi/types.js";
import { createSchema, engines } from "../support/postgres.js";
import { type RunningServer, startServer } from "../support/server-process.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

type Created = components["schemas"]["CreatedWebhook"];
type Delivery = components["schemas"]["WebhookDelivery"];
type Payload = components["schemas"]["WebhookPayload"];

const dir = mkdtempSync(join(tmpdir(), "people-notes-webhooks-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The seed's first person, whose notes the test writes. */
const PERSON = 1;

async function send<T>(server: RunningServer, method: string, path: string, body?: object): Promise<T> {
  const response = await fetch(`${server.url}/api${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

for (const engine of engines()) {
  describe(`webhooks across a SIGKILL (${engine})`, () => {
    test("a process killed mid-delivery: the next one sends that change again with the same webhook-id, then the rest, in order", async (t) => {
      const database =
        engine === "sqlite"
          ? { url: `sqlite:${join(dir, "killed.db")}`, drop: async () => {} }
          : await createSchema("hooks");
      const receiver = await WebhookReceiver.start();
      const env = {
        DATABASE_URL: database.url,
        // The receiver is on loopback.
        WEBHOOK_ALLOW_PRIVATE: "true",
        // Long enough that the attempt held open is still running when the process is killed; its
        // lease (this and twice 5 s) is what the next process waits out.
        WEBHOOK_TIMEOUT_MS: "5000",
        WEBHOOK_POLL_MS: "100",
      };
      const servers: RunningServer[] = [];
      t.after(async () => {
        await Promise.all(servers.map((server) => server.kill()));
        await receiver.close();
        await database.drop();
      });

      const first = await startServer(env);
      servers.push(first);
      const hook = await send<Created>(first, "POST", "/webhooks", { url: receiver.url, events: ["note.created"] });
      // The second change's delivery is held open: the process is in the middle of it.
      receiver.behaviour = (_received, index) => (index === 1 ? "hang" : 200);
      const notes: number[] = [];
      const write = async (server: RunningServer, content: string) => {
        const note = await send<{ note_id: number }>(server, "POST", `/people/${PERSON}/notes`, { content });
        notes.push(note.note_id);
      };
      for (const content of ["one", "two", "three"]) await write(first, content);
      await receiver.until(() => receiver.received.length >= 2, "the second delivery, held open");
      await first.kill();
      assert.equal(first.child.signalCode, "SIGKILL");
      assert.equal(receiver.received.length, 2, "the third waits behind the second");

      const second = await startServer(env);
      servers.push(second);
      await write(second, "four");
      await receiver.until(() => receiver.received.length >= 5, "every change, the interrupted one again");

      // Signed with the secret, one change per request: the second twice, with the same id and body.
      const received = receiver.received.map((each) => ({
        id: each.headers["webhook-id"],
        body: each.body,
        payload: new Webhook(hook.secret).verify(each.body, each.headers) as Payload,
      }));
      const noteIds = received.map(({ payload }) => payload.data.resource_id);
      assert.deepEqual(noteIds, [notes[0], notes[1], notes[1], notes[2], notes[3]]);
      assert.equal(received[2]?.id, received[1]?.id);
      assert.equal(received[2]?.body, received[1]?.body);
      const ids = received.map(({ id }) => id);
      assert.equal(new Set(ids).size, 4, "one id per change");
      const revisions = received.map(({ payload }) => payload.data.revision);
      assert.deepEqual(
        revisions,
        [...revisions].sort((a, b) => a - b),
        "in revision order",
      );

      // The killed process logged nothing of the attempt it was in: the log holds one success per change.
      const log = await send<Delivery[]>(second, "GET", `/webhooks/${hook.webhook_id}/deliveries`);
      assert.deepEqual(
        log.map(({ revision, outcome, attempt }) => ({ revision, outcome, attempt })).reverse(),
        [...new Set(revisions)].map((revision) => ({ revision, outcome: "delivered", attempt: 1 })),
      );
    });
  });
}
