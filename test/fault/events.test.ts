import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type OpenStream, openStream } from "../support/event-stream.js";
import { createSchema, POSTGRES_URL } from "../support/postgres.js";
import { type RunningServer, startServer } from "../support/server-process.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-events-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function createPerson(url: string): Promise<number> {
  const name = () => `P${randomBytes(5).toString("hex")}`;
  const response = await post(url, "/api/people", { fname: name(), lname: name() });
  assert.equal(response.status, 201);
  return ((await response.json()) as { person_id: number }).person_id;
}

async function createNote(url: string, personId: number, content: string): Promise<number> {
  const response = await post(url, `/api/people/${personId}/notes`, { content });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { note_id: number }).note_id;
}

const contentOf = (data: string) => (JSON.parse(data) as { content?: string }).content;

/** A note posted through one process reaches a stream held on the other within a second. */
async function crossesOver(writer: RunningServer, reader: RunningServer): Promise<void> {
  const personId = await createPerson(writer.url);
  const stream = await openStream(`${reader.url}/api/events?person_id=${personId}`);
  try {
    assert.equal(stream.status, 200);
    const content = `from ${writer.url}`;
    const noteId = await createNote(writer.url, personId, content);
    const event = await stream.waitFor((e) => e.event === "note.created", 1000);
    assert.equal((JSON.parse(event.data) as { note_id: number }).note_id, noteId);
    assert.equal(contentOf(event.data), content);
  } finally {
    stream.close();
  }
}

describe("the change feed across server processes", () => {
  test("PostgreSQL: a note posted through one process reaches a stream on the other within 1 s", async (t) => {
    const { url, drop } = await createSchema("events");
    const servers = [await startServer({ DATABASE_URL: url }), await startServer({ DATABASE_URL: url })];
    t.after(async () => {
      await Promise.all(servers.map((server) => server.kill()));
      await drop();
    });
    const [first, second] = servers as [RunningServer, RunningServer];
    await crossesOver(first, second);
    await crossesOver(second, first);
  });

  test("SQLite: a note posted through one process reaches a stream on the other within 1 s", async (t) => {
    const url = `sqlite:${join(dir, "shared.db")}`;
    const first = await startServer({ DATABASE_URL: url });
    const second = await startServer({ DATABASE_URL: url });
    t.after(async () => {
      await Promise.all([first.kill(), second.kill()]);
    });
    await crossesOver(first, second);
    await crossesOver(second, first);
  });

  test("PostgreSQL away and back: the listening process catches up on what it missed, in order", async (t) => {
    const { schema, url, drop } = await createSchema("events");
    const target = new URL(POSTGRES_URL);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const behind = new URL(POSTGRES_URL);
    behind.hostname = "127.0.0.1";
    behind.port = String(proxy.port);
    behind.searchParams.set("schema", schema);
    const writer = await startServer({ DATABASE_URL: url });
    const reader = await startServer({ DATABASE_URL: behind.toString(), DB_CONNECT_TIMEOUT_MS: "500" });
    let stream: OpenStream | undefined;
    t.after(async () => {
      stream?.close();
      await Promise.all([writer.kill(), reader.kill()]);
      await proxy.close();
      await drop();
    });
    const personId = await createPerson(writer.url);
    stream = await openStream(`${reader.url}/api/events?person_id=${personId}`);
    assert.equal(stream.status, 200);
    await createNote(writer.url, personId, "before the outage");
    await stream.waitFor((e) => contentOf(e.data) === "before the outage");

    proxy.setMode("refuse");
    proxy.cut();
    const during = ["during the outage 1", "during the outage 2", "during the outage 3"];
    for (const content of during) await createNote(writer.url, personId, content);
    // Once the reader's own connections fail, it cannot have read what was written meanwhile.
    const readiness = async () => {
      const response = await fetch(`${reader.url}/readyz`);
      await response.arrayBuffer();
      return response.status;
    };
    const deadline = Date.now() + 10_000;
    while ((await readiness()) !== 503 && Date.now() < deadline) await sleep(50);
    assert.equal(await readiness(), 503, "the reader knows the database is away");
    assert.ok(!stream.events.some((e) => contentOf(e.data)?.startsWith("during")), "nothing read while away");

    proxy.setMode("forward");
    await createNote(writer.url, personId, "after the outage");
    await stream.waitFor((e) => contentOf(e.data) === "after the outage", 15_000);
    assert.deepEqual(
      stream.events.map((e) => contentOf(e.data)),
      ["before the outage", ...during, "after the outage"],
      "every change once, in order",
    );
    const ids = stream.events.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    const listening = Date.now() + 10_000;
    while (!/listening for changes again/.test(reader.stdout()) && Date.now() < listening) await sleep(50);
    assert.match(reader.stdout(), /listening for changes again/, "the listening connection came back");
  });
});
