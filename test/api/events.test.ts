import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { buildApp } from "../../src/app.js";
import { pruneChanges, prunedThrough, recordChange } from "../../src/db/changes/repository.js";
import { DEFAULT_FEED_SETTINGS, type FeedSettings } from "../../src/domain/settings.js";
import { Lifecycle } from "../../src/http/lifecycle.js";
import { DEFAULT_SERVER_LIMITS, type EventStreamSettings } from "../../src/http/settings.js";
import { createDatabase, type Engine, engines, POSTGRES_URL, type TestDatabase } from "../support/app.js";
import { type OpenStream, openStream, type StreamEvent } from "../support/event-stream.js";

interface Served {
  app: FastifyInstance;
  url: string;
  lifecycle: Lifecycle;
}

/** The app listening on a free loopback port: event streams need a real connection. */
async function serve(
  database: TestDatabase,
  events: { feed?: FeedSettings; streams?: EventStreamSettings } = {},
  store = database.store,
): Promise<Served> {
  const lifecycle = new Lifecycle();
  // Load shedding has tests of its own; here a machine busy with other work must not turn writes into 503s.
  const serverLimits = { ...DEFAULT_SERVER_LIMITS, shedEventLoopDelayMs: 0 };
  const app = await buildApp({ store, lifecycle, events, serverLimits });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { app, url: `http://127.0.0.1:${address.port}`, lifecycle };
}

interface Fixture extends Served {
  database: TestDatabase;
  /** Opens a stream on this app; it is closed after the test. */
  open(path?: string, headers?: Record<string, string>, options?: { read?: boolean }): Promise<OpenStream>;
}

/** A seeded database and the app serving it for one test; streams, app and database go after it. */
async function fixture(
  t: TestContext,
  engine: Engine,
  events: { feed?: FeedSettings; streams?: EventStreamSettings } = {},
): Promise<Fixture> {
  const database = await createDatabase(engine, undefined, { prepared: true });
  const served = await serve(database, events);
  const opened: OpenStream[] = [];
  t.after(async () => {
    for (const stream of opened) stream.close();
    await served.app.close();
    await database.destroy();
  });
  return {
    ...served,
    database,
    async open(path = "/api/events", headers = {}, options = {}) {
      const stream = await openStream(`${served.url}${path}`, headers, options);
      opened.push(stream);
      return stream;
    },
  };
}

/** Records a note's change and rolls it back: its revision is taken, and never commits. */
async function recordThenRollBack(database: TestDatabase, personId: number, content: string): Promise<void> {
  await assert.rejects(
    database.store.transaction(async (tx) => {
      await recordChange(tx, {
        kind: "note.created",
        person_id: personId,
        resource_id: 999_999,
        data: JSON.stringify({ content }),
        recorded_at: new Date().toISOString(),
      });
      throw new Error("changed my mind");
    }),
    /changed my mind/,
  );
}

const send = (url: string, method: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const uniqueName = () => `P${randomBytes(5).toString("hex")}`;

async function createPerson(url: string): Promise<number> {
  const response = await send(`${url}/api/people`, "POST", { fname: uniqueName(), lname: uniqueName() });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { person_id: number }).person_id;
}

async function createNote(url: string, personId: number, content: string): Promise<number> {
  const response = await send(`${url}/api/people/${personId}/notes`, "POST", { content });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { note_id: number }).note_id;
}

const idsOf = (events: StreamEvent[]) => events.map((event) => Number(event.id));
const revisions = (stream: OpenStream) => idsOf(stream.events);

/** Waits (at most `ms`) until `check` holds. */
async function waitUntil(check: () => Promise<boolean> | boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(20);
  }
}

/** The revision a stream starts after, from its `ready` event. */
async function waitForReady(stream: OpenStream): Promise<string> {
  await waitUntil(() => stream.ready !== undefined, "the ready event");
  assert.equal(stream.ready?.event, "ready");
  return stream.ready?.id ?? "";
}

/** The streams the app has open, from its metrics. */
async function openStreams(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^event_streams_open (\d+)$/m.exec(metrics)?.[1]);
}

/**
 * Records `count` note changes of `size` characters each in one transaction; returns their revisions.
 * With `keep`, the same transaction prunes the feed to its newest `keep` changes, so that no feed
 * reads the others first.
 */
async function recordBacklog(
  database: TestDatabase,
  personId: number,
  count: number,
  size: number,
  { keep }: { keep?: number } = {},
) {
  const recordedAt = new Date().toISOString();
  return database.store.transaction(async (tx) => {
    const revisions: number[] = [];
    for (let i = 0; i < count; i++) {
      const content = `${i} `.padEnd(size, "0123456789");
      revisions.push(
        await recordChange(tx, {
          kind: "note.created",
          person_id: personId,
          resource_id: 1_000_000 + i,
          data: JSON.stringify({ person_id: personId, content }),
          recorded_at: recordedAt,
        }),
      );
    }
    if (keep !== undefined) await pruneChanges(tx, keep, new Date(0).toISOString());
    return revisions;
  });
}

function assertIncreasing(ids: number[]): void {
  for (let i = 1; i < ids.length; i++) assert.ok((ids[i] ?? 0) > (ids[i - 1] ?? 0), `ids in order: ${ids}`);
}

for (const engine of engines()) {
  describe(`GET /api/events on ${engine}`, () => {
    let database: TestDatabase;
    let served: Served;
    const streams: OpenStream[] = [];
    const open = async (path = "/api/events", headers: Record<string, string> = {}) => {
      const stream = await openStream(`${served.url}${path}`, headers);
      streams.push(stream);
      return stream;
    };

    before(async () => {
      database = await createDatabase(engine as Engine, undefined, { prepared: true });
      served = await serve(database);
    });
    after(async () => {
      for (const stream of streams) stream.close();
      await served.app.close();
      await database.destroy();
    });

    test("a new note reaches an open stream as note.created, with the note as data", async () => {
      const stream = await open();
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(stream.headers.get("cache-control"), "no-store");
      const personId = await createPerson(served.url);
      const noteId = await createNote(served.url, personId, "live, at once");
      const event = await stream.waitFor((e) => e.event === "note.created");
      const note = JSON.parse(event.data) as { note_id: number; person_id: number; content: string };
      assert.deepEqual([note.note_id, note.person_id, note.content], [noteId, personId, "live, at once"]);
      const created = await stream.waitFor((e) => e.event === "person.created");
      assert.equal((JSON.parse(created.data) as { person_id: number }).person_id, personId);
      assert.ok(Number(created.id) < Number(event.id), "the person's change comes before the note's");
    });

    test("updates and deletions come as such; a PUT that changes nothing sends nothing", async () => {
      const personId = await createPerson(served.url);
      const noteId = await createNote(served.url, personId, "first words");
      const stream = await open(`/api/events?person_id=${personId}`);
      const notePath = `${served.url}/api/people/${personId}/notes/${noteId}`;
      assert.equal((await send(notePath, "PUT", { content: "first words" })).status, 200);
      assert.equal((await send(notePath, "PUT", { content: "second words" })).status, 200);
      assert.equal(
        (await send(`${served.url}/api/people/${personId}`, "PUT", { fname: "Renamed", lname: uniqueName() })).status,
        200,
      );
      assert.equal((await send(notePath, "DELETE")).status, 204);
      assert.equal((await send(`${served.url}/api/people/${personId}`, "DELETE")).status, 204);
      const events = await stream.take(4);
      assert.deepEqual(
        events.map((e) => e.event),
        ["note.updated", "person.updated", "note.deleted", "person.deleted"],
      );
      assert.equal((JSON.parse(events[0]?.data ?? "{}") as { content: string }).content, "second words");
      assert.equal((JSON.parse(events[1]?.data ?? "{}") as { fname: string }).fname, "Renamed");
      assert.deepEqual(JSON.parse(events[2]?.data ?? "{}"), { person_id: personId, note_id: noteId });
      assert.deepEqual(JSON.parse(events[3]?.data ?? "{}"), { person_id: personId });
      assertIncreasing(revisions(stream));
    });

    test("the first event says where the stream starts, so a client that saw nothing else resumes from it", async () => {
      const personId = await createPerson(served.url);
      const quiet = await open(`/api/events?person_id=${personId}`);
      await waitForReady(quiet);
      assert.deepEqual(JSON.parse(quiet.ready?.data ?? "{}"), { revision: Number(quiet.ready?.id) });
      quiet.close();
      await createNote(served.url, personId, "while nobody listened");
      const resumed = await open(`/api/events?person_id=${personId}`, { "last-event-id": quiet.ready?.id ?? "" });
      const [missed] = await resumed.take(1);
      assert.equal((JSON.parse(missed?.data ?? "{}") as { content: string }).content, "while nobody listened");
    });

    test("person_id keeps to that person's changes", async () => {
      const mine = await createPerson(served.url);
      const theirs = await createPerson(served.url);
      const stream = await open(`/api/events?person_id=${mine}`);
      await createNote(served.url, theirs, "not for this stream");
      await createNote(served.url, mine, "for this stream");
      await createNote(served.url, theirs, "not for this stream either");
      await createNote(served.url, mine, "for this stream too");
      // Events come in revision order: anyone else's would come before the next one of mine.
      const events = await stream.take(2);
      assert.deepEqual(
        events.map((e) => (JSON.parse(e.data) as { content: string }).content),
        ["for this stream", "for this stream too"],
      );
    });

    test("Last-Event-ID (or ?since=) resumes right after it: nothing missed, nothing repeated", async () => {
      const personId = await createPerson(served.url);
      const first = await open(`/api/events?person_id=${personId}`);
      await createNote(served.url, personId, "before the disconnect");
      const [seen] = await first.take(1);
      first.close();
      const written: number[] = [];
      for (const content of ["while away 1", "while away 2", "while away 3"]) {
        written.push(await createNote(served.url, personId, content));
      }
      const resumed = [
        await open(`/api/events?person_id=${personId}`, { "last-event-id": seen?.id ?? "" }),
        await open(`/api/events?person_id=${personId}&since=${seen?.id}`),
      ];
      await createNote(served.url, personId, "after the reconnect");
      await createNote(served.url, personId, "later still");
      for (const stream of resumed) {
        // A change sent twice would come before the next one.
        const events = await stream.take(5);
        const contents = events.map((e) => (JSON.parse(e.data) as { content: string }).content);
        assert.deepEqual(
          contents,
          ["while away 1", "while away 2", "while away 3", "after the reconnect", "later still"],
          "each change once",
        );
        assertIncreasing(revisions(stream));
        assert.ok(Number(events[0]?.id) > Number(seen?.id));
      }
      assert.equal(written.length, 3);
    });

    test("a change that rolled back is never sent, and the changes after it still are", async () => {
      const personId = await createPerson(served.url);
      const stream = await open(`/api/events?person_id=${personId}`);
      await recordThenRollBack(database, personId, "rolled back");
      await createNote(served.url, personId, "committed");
      // The rolled-back change took the lower revision: sent, it would come first.
      const [event] = await stream.take(1);
      assert.equal((JSON.parse(event?.data ?? "{}") as { content: string }).content, "committed");
    });

    test("a revision this database has not reached gets a reload event, then live changes", async () => {
      const personId = await createPerson(served.url);
      const stream = await open(`/api/events?person_id=${personId}&since=999999999`);
      const [reload] = await stream.take(1);
      assert.equal(reload?.event, "reload");
      assert.deepEqual(JSON.parse(reload?.data ?? "{}"), { revision: Number(reload?.id) });
      await createNote(served.url, personId, "after the reload");
      const [, next] = await stream.take(2);
      assert.equal(next?.event, "note.created");
      assert.ok(Number(next?.id) > Number(reload?.id));
    });

    test("HEAD answers the stream's headers and holds no stream open", async () => {
      const before = await openStreams(served.url);
      const response = await fetch(`${served.url}/api/events`, { method: "HEAD", signal: AbortSignal.timeout(5000) });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      // A stream takes its place before its head is sent: one held open would be counted by now.
      assert.equal(await openStreams(served.url), before);
    });

    test("bad revisions and filters are a 400 problem", async () => {
      for (const [path, headers] of [
        ["/api/events?since=-1", {}],
        ["/api/events?since=abc", {}],
        ["/api/events?person_id=0", {}],
        ["/api/events", { "last-event-id": "12; drop" }],
      ] as const) {
        const stream = await open(path, headers);
        assert.equal(stream.status, 400, path);
        assert.match(stream.headers.get("content-type") ?? "", /^application\/problem\+json/);
        const { errors } = JSON.parse(stream.body) as { errors?: Array<{ in: string }> };
        assert.equal(errors?.[0]?.in, "last-event-id" in headers ? "header" : "query", "checked by the contract");
      }
    });
  });

  describe(`event streams' limits on ${engine}`, () => {
    test("retention keeps exactly the newest changes: a resume from the newest pruned one replays, from before it reloads", async (t) => {
      const served = await fixture(t, engine, {
        feed: { ...DEFAULT_FEED_SETTINGS, retention: { changes: 2, hours: 24 }, pruneEveryMs: 20 },
      });
      const personId = await createPerson(served.url);
      const live = await served.open(`/api/events?person_id=${personId}`);
      // Each note once the stream has the one before: pruning every 20 ms to the newest two could
      // otherwise take a change the feed had yet to read on a loaded machine, and the stream would
      // get a reload in its place.
      for (let i = 0; i < 5; i++) {
        await createNote(served.url, personId, `note ${i}`);
        await live.take(i + 1);
      }
      const ids = idsOf(await live.take(5));
      const first = ids[0] ?? 0;
      assert.deepEqual(ids, [first, first + 1, first + 2, first + 3, first + 4], "one revision each, in a row");
      // Kept: the newest two (notes 3 and 4). Pruning runs every 20 ms; wait until it has seen note 4.
      const newestPruned = first + 2;
      await waitUntil(async () => (await prunedThrough(served.database.store)) >= newestPruned, "pruning");

      const fromNewestPruned = await served.open("/api/events", { "last-event-id": String(newestPruned) });
      assert.deepEqual(
        idsOf(await fromNewestPruned.take(2)),
        [first + 3, first + 4],
        "everything after the newest pruned change is kept, and replayed",
      );
      assert.equal(fromNewestPruned.ready?.event, "ready");
      const fromOldestKept = await served.open("/api/events", { "last-event-id": String(first + 3) });
      const [kept] = await fromOldestKept.take(1);
      assert.deepEqual([kept?.event, Number(kept?.id)], ["note.created", first + 4]);

      const beforeIt = await served.open("/api/events", { "last-event-id": String(newestPruned - 1) });
      const [reload] = await beforeIt.take(1);
      assert.equal(reload?.event, "reload", "the change after it was pruned");
      assert.ok(Number(reload?.id) >= first + 4, "the reload starts from now");
      const farBehind = await served.open("/api/events", { "last-event-id": String(first) });
      assert.equal((await farBehind.take(1))[0]?.event, "reload");
    });

    test("changes pruned before the feed read them come to an open stream as a reload, also one kept to a person", async (t) => {
      const served = await fixture(t, engine, {
        feed: { ...DEFAULT_FEED_SETTINGS, retention: { changes: 1, hours: 24 } },
      });
      const personId = await createPerson(served.url);
      const live = await served.open(`/api/events?person_id=${personId}`);
      await waitForReady(live);
      // Three changes of another process, pruned to the newest in the transaction that commits them.
      const newest = (await recordBacklog(served.database, personId, 3, 20, { keep: 1 })).at(-1) ?? 0;
      const [reload] = await live.take(1);
      assert.deepEqual([reload?.event, Number(reload?.id)], ["reload", newest]);
      assert.deepEqual(JSON.parse(reload?.data ?? "{}"), { revision: newest });
      await createNote(served.url, personId, "after the reload");
      const [, next] = await live.take(2);
      assert.deepEqual([next?.event, Number(next?.id)], ["note.created", newest + 1]);
    });

    test("a resume over more than 1 MiB of changes sends every one, in order, then live changes", async (t) => {
      const served = await fixture(t, engine);
      const personId = await createPerson(served.url);
      const before = await served.open(`/api/events?person_id=${personId}`);
      const seen = await waitForReady(before);
      before.close();
      const contents: string[] = [];
      for (let i = 0; i < 120; i++) {
        const content = `${i} `.padEnd(9500, "abcdefghij");
        contents.push(content);
        await createNote(served.url, personId, content);
      }
      const resumed = await served.open(`/api/events?person_id=${personId}`, { "last-event-id": seen });
      const replayed = await resumed.take(120, 30_000);
      assert.equal(resumed.ready?.event, "ready", "replayed, not reloaded");
      assert.ok(replayed.reduce((bytes, e) => bytes + e.data.length, 0) > 1024 * 1024, "more than 1 MiB was replayed");
      assert.deepEqual(
        replayed.map((e) => (JSON.parse(e.data) as { content: string }).content),
        contents,
      );
      assertIncreasing(revisions(resumed));
      await createNote(served.url, personId, "live, after the replay");
      const next = (await resumed.take(121))[120];
      assert.equal((JSON.parse(next?.data ?? "{}") as { content: string }).content, "live, after the replay");
    });

    test("a backlog too large to replay (over 16 MiB) gets a reload, then live changes", async (t) => {
      const served = await fixture(t, engine);
      const personId = await createPerson(served.url);
      const before = await served.open(`/api/events?person_id=${personId}`);
      const seen = await waitForReady(before);
      before.close();
      const recorded = await recordBacklog(served.database, personId, 300, 60_000);
      const resumed = await served.open(`/api/events?person_id=${personId}`, { "last-event-id": seen });
      const [reload] = await resumed.take(1);
      assert.equal(reload?.event, "reload");
      assert.ok(Number(reload?.id) >= (recorded.at(-1) ?? Infinity), "it starts after the backlog");
      await createNote(served.url, personId, "after the reload");
      const [, next] = await resumed.take(2);
      assert.equal((JSON.parse(next?.data ?? "{}") as { content: string }).content, "after the reload");
    });

    test("a client that stops reading is cut off as changes keep coming; one reading them is not", async (t) => {
      const served = await fixture(t, engine, { feed: { ...DEFAULT_FEED_SETTINGS, pollMs: 20 } });
      const personId = await createPerson(served.url);
      const stalled = await served.open(`/api/events?person_id=${personId}`, {}, { read: false });
      const reading = await served.open(`/api/events?person_id=${personId}`);
      await waitForReady(reading);
      assert.equal(await openStreams(served.url), 2);
      const recorded: number[] = [];
      // At most 32 MiB, a quarter of a MiB at a time: the reading client gets each before the next.
      for (let round = 0; round < 128 && (await openStreams(served.url)) === 2; round++) {
        recorded.push(...(await recordBacklog(served.database, personId, 4, 60_000)));
        await reading.waitFor((e) => Number(e.id) === recorded.at(-1), 10_000);
      }
      assert.equal(await openStreams(served.url), 1, "the stalled stream was cut off");
      assert.deepEqual(revisions(reading), recorded, "the reading one got everything, once, in order");
      await createNote(served.url, personId, "still reading");
      await reading.waitFor((e) => e.data.includes('"still reading"'), 10_000);
      stalled.read();
      assert.notEqual(await stalled.ended, "closed", "the stalled client finds its stream ended");
      assert.ok(stalled.events.length < recorded.length, "without the changes it did not take");
    });

    test("a client that stops reading in the middle of a replay is cut off after a heartbeat interval", async (t) => {
      const served = await fixture(t, engine, { streams: { maxStreams: 10, heartbeatMs: 100 } });
      const personId = await createPerson(served.url);
      const before = await served.open(`/api/events?person_id=${personId}`);
      const seen = await waitForReady(before);
      before.close();
      // 12 MB: more than the connection's buffers hold, less than a replay may be.
      await recordBacklog(served.database, personId, 200, 60_000);
      await waitUntil(async () => (await openStreams(served.url)) === 0, "the first stream to close");
      const stalled = await served.open(
        `/api/events?person_id=${personId}`,
        { "last-event-id": seen },
        { read: false },
      );
      assert.equal(stalled.status, 200);
      await waitUntil(async () => (await openStreams(served.url)) === 0, "the stalled stream to be cut off", 10_000);
      stalled.read();
      assert.notEqual(await stalled.ended, "closed");
      assert.ok(stalled.events.length < 200, "it did not get the whole replay");
    });

    test("past EVENTS_MAX_STREAMS a stream is a 503 with Retry-After; heartbeats keep idle ones busy", async (t) => {
      const served = await fixture(t, engine, { streams: { maxStreams: 2, heartbeatMs: 50 } });
      const opened: OpenStream[] = [];
      for (let i = 0; i < 2; i++) opened.push(await served.open());
      assert.equal(await openStreams(served.url), 2, "the open streams are in the metrics");
      const refused = await served.open();
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers.get("retry-after")) > 0);
      assert.match(refused.body, /Too many event streams/);
      opened[0]?.close();
      await waitUntil(async () => (await openStreams(served.url)) === 1, "the closed stream to free its place");
      const again = await served.open();
      assert.equal(again.status, 200, "a closed stream frees its place");
      await waitUntil(
        () => again.comments.filter((c) => c === "heartbeat").length >= 2,
        "heartbeats on an idle stream",
      );
    });

    test("draining ends every stream at once, so closing does not wait for them", async (t) => {
      const served = await fixture(t, engine);
      const stream = await served.open();
      assert.equal(stream.status, 200);
      served.lifecycle.startDraining();
      const first = await Promise.race([stream.ended.then(() => "ended"), sleep(5000, "still open")]);
      assert.equal(first, "ended", "the stream ends as draining begins");
      assert.equal((await served.open()).status, 503, "and no new one opens");
    });
  });
}

/**
 * A client of its own on the test server. Its transaction is rolled back and the client closed
 * after the test, before the fixture's hooks (made after it) drop the schema: an open transaction
 * would hold locks the drop waits for, and a failing test would hang the file.
 */
async function outsideClient(t: TestContext): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  t.after(async () => {
    await client.query("rollback").catch(() => {});
    await client.end();
  });
  return client;
}

describe("the change feed on PostgreSQL, with transactions committing out of order", () => {
  test("a change is held back while one with a lower revision is still committing", async (t) => {
    const client = await outsideClient(t);
    const served = await fixture(t, "postgres");
    const { database } = served;
    const [current] = await database.store.db
      .selectNoFrom((eb) => eb.fn<string>("current_schema", []).as("schema"))
      .execute();
    await client.query(`set search_path = ${current?.schema}`);
    const personId = await createPerson(served.url);
    const stream = await served.open(`/api/events?person_id=${personId}`);

    // The slow transaction takes its revision first, and commits last.
    await client.query("begin");
    // As in the service, the transaction has its id before it takes a revision.
    await client.query("select pg_current_xact_id()");
    const { rows } = await client.query<{ revision: string }>(
      `insert into change (kind, person_id, resource_id, data, recorded_at)
       values ('note.created', $1, 1, '{"content":"slow"}', now()) returning revision`,
      [personId],
    );
    const slow = Number(rows[0]?.revision);
    await createNote(served.url, personId, "fast");
    // A stream opens where the feed stands after a read begun now, which sees the faster change.
    const probe = await served.open(`/api/events?person_id=${personId}`);
    assert.ok(Number(await waitForReady(probe)) < slow, "the faster change waits for the slower one");
    await client.query("commit");
    const events = await stream.take(2);
    assert.deepEqual(
      events.map((e) => (JSON.parse(e.data) as { content: string }).content),
      ["slow", "fast"],
    );
    assertIncreasing(revisions(stream));
  });

  test("a gap closes even while a long transaction elsewhere on the server holds the snapshot back", async (t) => {
    const elsewhere = await outsideClient(t);
    const served = await fixture(t, "postgres");
    const { database } = served;
    const personId = await createPerson(served.url);
    const stream = await served.open(`/api/events?person_id=${personId}`);
    // Say a report running for minutes: its transaction keeps every snapshot's xmin where it was.
    await elsewhere.query("begin");
    await elsewhere.query("select pg_current_xact_id()");
    await recordThenRollBack(database, personId, "rolled back: a gap");
    await createNote(served.url, personId, "after the gap");
    const event = await stream.waitFor((e) => e.event === "note.created");
    assert.equal((JSON.parse(event.data) as { content: string }).content, "after the gap");
  });
});
