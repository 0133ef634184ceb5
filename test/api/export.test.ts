import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sql } from "kysely";
import type { AccessOptions } from "../../src/app.js";
import { parseDatabaseUrl } from "../../src/config.js";
import { openStore, type Store } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { TokenService } from "../../src/domain/tokens.js";
import { appOn, bearer, createSchema, type Engine, engines, json, type TestApp } from "../support/app.js";
import { runCommand } from "../support/cli.js";

/** A seeded app on a database a URL names, so the CLI can export the same database. */
async function appWithUrl(engine: Engine, access: AccessOptions = {}): Promise<{ app: TestApp; url: string }> {
  let url: string;
  let remove: () => Promise<void>;
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "people-notes-export-api-"));
    url = `sqlite:${join(dir, "people.db")}`;
    remove = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = await createSchema();
    url = schema.url;
    remove = schema.drop;
  }
  const config = parseDatabaseUrl(url);
  const store = openStore(config);
  await prepareDatabase(store);
  const others: Store[] = [];
  const app = await appOn(
    {
      store,
      openAnother() {
        const another = openStore(config);
        others.push(another);
        return another;
      },
      async destroy() {
        await Promise.all([store.close(), ...others.map((other) => other.close())]);
        await remove();
      },
    },
    store,
    access,
  );
  return { app, url };
}

async function withApp(engine: Engine, access: AccessOptions, work: (app: TestApp, url: string) => Promise<void>) {
  const { app, url } = await appWithUrl(engine, access);
  try {
    await work(app, url);
  } finally {
    await app.close();
  }
}

/** `notes` notes of about 1 KiB for person 1, written in bulk. */
async function addNotes(store: Store, notes: number): Promise<void> {
  await store.db.transaction().execute(async (tx) => {
    for (let start = 0; start < notes; start += 1_000) {
      const rows = Array.from({ length: Math.min(1_000, notes - start) }, (_, k) => ({
        person_id: 1,
        content: `Note ${start + k} ${"x".repeat(1_000)}`,
        timestamp: new Date(Date.UTC(2021, 0, 1) + (start + k) * 1_000).toISOString(),
      }));
      await tx.insertInto("note").values(rows).execute();
      // SQLite inserts synchronously: let the event loop turn between batches, or the app sees a loop
      // blocked for seconds and sheds the test's next request (503), as Node 24 reliably reports it.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
}

for (const engine of engines()) {
  describe(`GET /api/export (${engine})`, () => {
    test("with access control on, it takes an admin token: none is 401, a person token 403", () =>
      withApp(engine, { mode: "always" }, async (app) => {
        const tokens = new TokenService(app.store);
        const admin = await tokens.create({ kind: "admin", name: "ops" });
        const person = await tokens.create({ kind: "person", name: "Doug's phone", personId: 1 });

        const anonymous = await app.inject({ url: "/api/export" });
        assert.equal(anonymous.statusCode, 401, anonymous.body);
        assert.equal(anonymous.headers["www-authenticate"], 'Bearer realm="people-notes"');
        const forbidden = await app.inject({ url: "/api/export", headers: bearer(person.token) });
        assert.equal(forbidden.statusCode, 403, forbidden.body);
        assert.doesNotMatch(anonymous.body + forbidden.body, /Farrell/);

        const allowed = await app.inject({ url: "/api/export", headers: bearer(admin.token) });
        assert.equal(allowed.statusCode, 200, allowed.body);
        assert.equal(allowed.headers["content-type"], "application/x-ndjson; charset=utf-8");
        assert.equal(allowed.headers["content-disposition"], 'attachment; filename="people-notes-export.ndjson"');
        const records = allowed.body
          .trimEnd()
          .split("\n")
          .map((line) => JSON.parse(line));
        assert.deepEqual(records[0], { type: "export", format_version: 1 });
        assert.deepEqual(records.at(-1), { type: "end", people: 3, notes: 7, revisions: 0, trash: 0 });
        assert.deepEqual(
          records.filter((r) => r.type === "person").map((r) => [r.person_id, r.fname, r.lname, r.version]),
          [
            [1, "Doug", "Farrell", 1],
            [2, "Kent", "Brockman", 1],
            [3, "Bunny", "Easter", 1],
          ],
        );
        assert.deepEqual(
          records.filter((r) => r.type === "note").map((r) => r.note_id),
          [1, 2, 3, 4, 5, 6, 7],
        );
        assert.doesNotMatch(allowed.body, /pn_|secret|token/, "no token is exported");
      }));

    test("on loopback before any token exists (open mode), anyone may export, as anyone may write", () =>
      withApp(engine, {}, async (app) => {
        const open = await app.inject({ url: "/api/export" });
        assert.equal(open.statusCode, 200, open.body);
        await new TokenService(app.store).create({ kind: "admin", name: "ops" });
        const closed = await app.inject({ url: "/api/export" });
        assert.equal(closed.statusCode, 401, closed.body);
      }));

    test("it carries note history and the trash; history=false leaves them out, as --no-history does", () =>
      withApp(engine, {}, async (app, url) => {
        const edited = await app.inject({
          method: "PUT",
          url: "/api/people/1/notes/2",
          headers: { "content-type": "application/json" },
          payload: JSON.stringify({ content: "Edited" }),
        });
        assert.equal(edited.statusCode, 200, edited.body);
        const deleted = await app.inject({ method: "DELETE", url: "/api/people/1/notes/3" });
        assert.equal(deleted.statusCode, 204, deleted.body);

        const all = await app.inject({ url: "/api/export" });
        assert.equal(all.statusCode, 200, all.body);
        const records = all.body
          .trimEnd()
          .split("\n")
          .map((line) => JSON.parse(line));
        const revisions = records.filter((r) => r.type === "note_revision");
        assert.deepEqual(
          revisions.map((r) => [r.note_id, r.version, r.content]),
          [
            [2, 1, "This could be useful"],
            [2, 2, "Edited"],
          ],
        );
        assert.deepEqual(
          records.filter((r) => r.type === "trash_entry").map((r) => [r.kind, r.note_id, r.content]),
          [["note", 3, "Well, sort of useful"]],
        );
        assert.deepEqual(records.at(-1), { type: "end", people: 3, notes: 6, revisions: 2, trash: 1 });

        const without = await app.inject({ url: "/api/export?history=false" });
        assert.equal(without.statusCode, 200, without.body);
        assert.ok(!/note_revision|trash_entry/.test(without.body), without.body);
        assert.match(without.body, /\{"type":"end","people":3,"notes":6\}\n$/);
        const cli = await runCommand(["export", "--no-history"], { env: { DATABASE_URL: url } });
        assert.equal(cli.code, 0, cli.stderr);
        assert.equal(without.body, cli.stdout);
        assert.equal((await app.inject({ url: "/api/export?history=no" })).statusCode, 400);
      }));

    test("its lines are the CLI's ndjson export, byte for byte", () =>
      withApp(engine, {}, async (app, url) => {
        await addNotes(app.store, 2_500);
        const response = await app.inject({ url: "/api/export" });
        assert.equal(response.statusCode, 200);
        const cli = await runCommand(["export", "--format", "ndjson"], { env: { DATABASE_URL: url } });
        assert.equal(cli.code, 0, cli.stderr);
        assert.equal(response.body, cli.stdout);
        assert.equal(response.body.split("\n").length, 1 + 3 + 2_507 + 1 + 1);
      }));

    test("it streams from one snapshot with backpressure while other requests are answered", () =>
      withApp(engine, {}, async (app) => {
        await addNotes(app.store, 20_000);
        const address = await app.app.listen({ port: 0, host: "127.0.0.1" });
        const response = await fetch(`${address}/api/export`);
        assert.equal(response.status, 200);
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const first = await reader.read();
        assert.ok(!first.done && first.value.length > 0);

        // The client has stopped reading: the server waits, holding its snapshot, and serves others.
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Had they to wait for the export, these would never be answered (and the test would fail on
        // its timeout): the client reads nothing more until they are.
        const person = await fetch(`${address}/api/people/1`);
        assert.equal(person.status, 200);
        await person.arrayBuffer();
        const written = await fetch(`${address}/api/people/2/notes`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: "Written during the export" }),
        });
        assert.equal(written.status, 201, await written.text());

        const decoder = new TextDecoder();
        let body = decoder.decode(first.value, { stream: true });
        for (;;) {
          const next = await reader.read();
          if (next.done) break;
          body += decoder.decode(next.value, { stream: true });
        }
        assert.doesNotMatch(body, /Written during the export/, "the export reads the snapshot it started with");
        assert.match(body, /\{"type":"end","people":3,"notes":20007,"revisions":0,"trash":0\}\n$/);
      }));

    test("a client that goes away ends the export and its snapshot", () =>
      withApp(engine, {}, async (app) => {
        await addNotes(app.store, 20_000);
        const address = await app.app.listen({ port: 0, host: "127.0.0.1" });
        // A connection of its own (no agent): fetch's pool opened a spare one here, which held the
        // app's close for seconds with no request on it.
        const client = get(`${address}/api/export`, { agent: false });
        const [response] = (await once(client, "response")) as [IncomingMessage];
        await once(response, "readable");
        // A change after the snapshot began: a checkpoint cannot pass it while the snapshot is open.
        const written = await app.inject({ method: "POST", url: "/api/people/2/notes", ...json({ content: "Later" }) });
        assert.equal(written.statusCode, 201);
        client.destroy();
        // The snapshot is over: on PostgreSQL its connection is back in the pool; on SQLite no reader
        // holds an old snapshot, so a checkpoint can move the whole WAL into the database.
        const deadline = Date.now() + 5_000;
        while (engine === "postgres") {
          const { open, idle } = app.store.connections();
          if (idle === open) break;
          assert.ok(Date.now() < deadline, `a connection is still in use: ${JSON.stringify(app.store.connections())}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        // On SQLite the reader lets go when the server sees the socket close: try the checkpoint until
        // it passes, within the same 5 s.
        while (engine === "sqlite") {
          const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(truncate)`.execute(app.store.db);
          if (rows[0]?.busy === 0) break;
          assert.ok(Date.now() < deadline, "no reader holds an old snapshot");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const again = await app.inject({ url: "/api/export" });
        assert.equal(again.statusCode, 200);
        assert.match(again.body, /"notes":20008,"revisions":1,"trash":0\}\n$/);
      }));
  });
}
