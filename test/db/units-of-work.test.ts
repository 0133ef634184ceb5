import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import { buildApp } from "../../src/app.js";
import { openStore } from "../../src/db/database.js";
import { DatabaseUnavailableError } from "../../src/db/errors.js";
import type { StoreLog } from "../../src/db/log.js";
import { findNote, insertNote, listNotes, updateNote } from "../../src/db/notes-repository.js";
import { findPerson, insertPerson, updatePerson } from "../../src/db/people-repository.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { createDatabase, engines, json, startApp, type TestDatabase } from "../support/app.js";

async function withDatabase(engine: "sqlite" | "postgres", work: (database: TestDatabase) => Promise<void>) {
  const database = await createDatabase(engine, undefined, { prepared: true });
  try {
    await work(database);
  } finally {
    await database.destroy();
  }
}

const postNote = (content: string) => ({ method: "POST" as const, url: "/api/people/1/notes", ...json({ content }) });

for (const engine of engines()) {
  describe(`units of work (${engine})`, () => {
    test("a transaction that throws leaves nothing behind", () =>
      withDatabase(engine, async ({ store }) => {
        await assert.rejects(
          store.transaction(async (tx) => {
            const noteId = await insertNote(tx, 1, "never committed", "2024-01-01T00:00:00.000Z");
            assert.equal(typeof noteId, "number");
            assert.ok(await findNote(tx, 1, noteId as number), "the transaction sees its own write");
            throw new Error("changed my mind");
          }),
          /changed my mind/,
        );
        const newest = await listNotes(store, 1);
        assert.notEqual(newest[0]?.content, "never committed");
      }));

    test("a version changes on every change, and an update at a stale version changes nothing", () =>
      withDatabase(engine, async ({ store }) => {
        const created = await insertPerson(store, { fname: "Versioned", lname: "Person" }, "2024-01-01T00:00:00.000Z");
        assert.ok(typeof created === "object");
        assert.equal(created.version, 1);
        const renamed = await store.transaction((tx) =>
          updatePerson(tx, created.person_id, { fname: "Versioned", lname: "Again" }, "2024-01-02T00:00:00.000Z", 1),
        );
        assert.ok(typeof renamed === "object");
        assert.equal(renamed.version, 2);
        const stale = await store.transaction((tx) =>
          updatePerson(tx, created.person_id, { fname: "Lost", lname: "Update" }, "2024-01-03T00:00:00.000Z", 1),
        );
        assert.equal(stale, "changed-since");
        assert.equal((await findPerson(store, created.person_id))?.lname, "Again");

        const noteId = (await insertNote(store, created.person_id, "first", "2024-01-01T00:00:00.000Z")) as number;
        const edited = await store.transaction((tx) =>
          updateNote(tx, created.person_id, noteId, "second", "2024-01-02T00:00:00.000Z", 1),
        );
        assert.ok(typeof edited === "object");
        assert.equal(edited.version, 2);
        const staleNote = await store.transaction((tx) =>
          updateNote(tx, created.person_id, noteId, "third", "2024-01-03T00:00:00.000Z", 1),
        );
        assert.equal(staleNote, "changed-since");
        assert.equal((await findNote(store, created.person_id, noteId))?.content, "second");
      }));

    test("two racing updates at the same version: exactly one wins", () =>
      withDatabase(engine, async (database) => {
        const other = database.openAnother();
        const results = await Promise.all(
          [database.store, other].map((store, i) =>
            store.transaction((tx) => updateNote(tx, 1, 1, `racer ${i}`, "2024-01-02T00:00:00.000Z", 1)),
          ),
        );
        assert.equal(results.filter((result) => result === "changed-since").length, 1, JSON.stringify(results));
      }));

    test("a person written with an explicit id (a restore) does not make later creations fail", () =>
      withDatabase(engine, async ({ store }) => {
        await sql`insert into person (person_id, fname, lname, fname_key, lname_key, timestamp)
                  values (4, 'Restored', 'Person', 'restored', 'person', '2020-01-01T00:00:00.000Z')`.execute(store.db);
        await sql`insert into note (note_id, person_id, content, timestamp)
                  values (8, 4, 'Restored note', '2020-01-01T00:00:00.000Z')`.execute(store.db);
        const app = await buildApp({ store });
        try {
          const person = await app.inject({
            method: "POST",
            url: "/api/people",
            ...json({ fname: "New", lname: "Comer" }),
          });
          assert.equal(person.statusCode, 201, person.body);
          assert.equal(person.json().person_id, 5);
          const note = await app.inject({ method: "POST", url: "/api/people/4/notes", ...json({ content: "after" }) });
          assert.equal(note.statusCode, 201, note.body);
          assert.equal(note.json().note_id, 9);
        } finally {
          await app.close();
        }
      }));
  });
}

describe("timestamps keep exactly the precision the API shows", () => {
  test("PostgreSQL stores milliseconds, so notes in the same millisecond page without a gap", () =>
    withDatabase("postgres", async ({ store }) => {
      await sql`insert into note (person_id, content, timestamp) values
                (1, 'a', '2030-01-01T00:00:00.123456Z'), (1, 'b', '2030-01-01T00:00:00.123400Z')`.execute(store.db);
      const stored = await sql<{ timestamp: string }>`select timestamp from note where content in ('a', 'b')`.execute(
        store.db,
      );
      assert.deepEqual(
        stored.rows.map((row) => row.timestamp),
        ["2030-01-01T00:00:00.123Z", "2030-01-01T00:00:00.123Z"],
      );
      const app = await buildApp({ store });
      try {
        const seen: number[] = [];
        let url: string | undefined = "/api/notes?limit=1";
        for (let pages = 0; url && pages < 20; pages++) {
          const response: {
            statusCode: number;
            body: string;
            json(): { note_id: number }[];
            headers: Record<string, unknown>;
          } = await app.inject({ url });
          assert.equal(response.statusCode, 200, response.body);
          seen.push(...response.json().map((note: { note_id: number }) => note.note_id));
          url = /<([^>]+)>; rel="next"/.exec(String(response.headers.link ?? ""))?.[1];
        }
        assert.equal(seen.length, 9, `every note once: ${seen.join(",")}`);
        assert.equal(new Set(seen).size, 9);
      } finally {
        await app.close();
      }
    }));

  test("SQLite refuses a timestamp in any other form", () =>
    withDatabase("sqlite", async ({ store }) => {
      await assert.rejects(
        sql`insert into note (person_id, content, timestamp) values (1, 'a', '2030-01-01T00:00:00.123456Z')`.execute(
          store.db,
        ),
        /timestamp must be ISO 8601 UTC with milliseconds/,
      );
    }));
});

describe("one SQLite connection, taken in turns", () => {
  test("a request's write never runs inside another unit of work's transaction", async () => {
    const started = await startApp({ engine: "sqlite" });
    try {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let inside: Promise<unknown> | undefined;
      const transaction = started.store.db.transaction().execute(async (tx) => {
        await sql`update person set fname = 'Held' where person_id = 2`.execute(tx);
        // Creating a person is a single statement, run without a transaction of its own.
        inside = started.inject({
          method: "POST",
          url: "/api/people",
          ...json({ fname: "Written", lname: "Meanwhile" }),
        });
        await held;
        throw new Error("roll the transaction back");
      });
      await sleep(50);
      release();
      await assert.rejects(transaction, /roll the transaction back/);
      const response = (await inside) as { statusCode: number; json(): { person_id: number } };
      assert.equal(response.statusCode, 201);
      const stored = await started.inject({ url: `/api/people/${response.json().person_id}` });
      assert.equal(stored.statusCode, 200, "the acknowledged person survived the other transaction's rollback");
      assert.equal((await started.inject({ url: "/api/people/2" })).json().fname, "Kent");
    } finally {
      await started.close();
    }
  });

  test("while another process holds the write lock, the process keeps answering; the write waits, then lands", async () => {
    const started = await startApp({ engine: "sqlite" });
    const path = started.database.path as string;
    const other = new BetterSqlite3(path);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      other.exec("begin immediate");
      loop.enable();
      const write = started.inject(postNote("waited for the lock"));
      const startedAt = Date.now();
      let answered = 0;
      while (Date.now() - startedAt < 1000) {
        assert.equal((await started.inject({ url: "/healthz" })).statusCode, 200);
        assert.equal((await started.inject({ url: "/api/people/1" })).statusCode, 200, "reads go on");
        answered += 1;
        await sleep(50);
      }
      other.exec("commit");
      const response = await write;
      loop.disable();
      assert.equal(response.statusCode, 201, response.body);
      assert.ok(answered >= 5, `only ${answered} rounds of reads answered during the wait`);
      const longestStallMs = loop.max / 1e6;
      assert.ok(longestStallMs < 500, `the event loop stalled for ${longestStallMs} ms`);
    } finally {
      loop.disable();
      other.close();
      await started.close();
    }
  });

  test("a write lock held past the lock budget gives 503 with Retry-After, and nothing is written", async () => {
    const database = await createDatabase("sqlite");
    const path = database.path as string;
    const store = openStore({ engine: "sqlite", path, limits: { lockTimeoutMs: 300 } });
    const other = new BetterSqlite3(path);
    try {
      await prepareDatabase(store);
      const app = await buildApp({ store });
      other.exec("begin immediate");
      const response = await app.inject(postNote("never written"));
      other.exec("rollback");
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers["retry-after"], "1");
      const notes = await app.inject({ url: "/api/notes?limit=1" });
      assert.equal(notes.headers["x-total-count"], "7");
      await app.close();
    } finally {
      other.close();
      await store.close();
      await database.destroy();
    }
  });

  test("many writes waiting for another process's lock at once: the loop is never blocked, reads go on, each write is refused at the lock timeout", async () => {
    const database = await createDatabase("sqlite");
    const path = database.path as string;
    // Long enough that what a blocked loop would do (stall a whole lock timeout for each write, and
    // refuse the writes one after another) stands well apart from what a busy machine does to a
    // loop that is not blocked (stalls of a few hundred ms, seen when other test files ran beside).
    const lockTimeoutMs = 2_000;
    const store = openStore({ engine: "sqlite", path, limits: { lockTimeoutMs } });
    const other = new BetterSqlite3(path);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      await prepareDatabase(store);
      other.exec("begin immediate");
      loop.enable();
      const startedAt = performance.now();
      const refusedAfter = (write: Promise<unknown>) =>
        write.then(
          () => assert.fail("a write went through while another process held the lock"),
          (error: unknown) => {
            assert.ok(error instanceof DatabaseUnavailableError, String(error));
            return performance.now() - startedAt;
          },
        );
      const timestamp = "2024-01-01T00:00:00.000Z";
      const writes = [
        // units of work, single statements, and one of Kysely's own transactions
        ...Array.from({ length: 12 }, (_, i) =>
          store.transaction((tx) => insertPerson(tx, { fname: `Waiting${i}`, lname: "Unit" }, timestamp)),
        ),
        ...Array.from({ length: 4 }, (_, i) =>
          insertPerson(store, { fname: `Waiting${i}`, lname: "Single" }, timestamp),
        ),
        store.db.transaction().execute((tx) => sql`update person set fname = fname where person_id = 1`.execute(tx)),
      ].map(refusedAfter);
      let firstRefusal = false;
      void Promise.race(writes).finally(() => {
        firstRefusal = true;
      });
      let readsBeforeRefusal = 0;
      for (let i = 0; i < 400 && !firstRefusal; i++) {
        assert.equal((await findPerson(store, 1))?.person_id, 1);
        if (!firstRefusal) readsBeforeRefusal += 1;
        await sleep(10);
      }
      const refusedAt = await Promise.all(writes);
      loop.disable();
      other.exec("rollback");

      assert.ok(readsBeforeRefusal >= 5, `only ${readsBeforeRefusal} reads answered while the writes waited`);
      const longestStallMs = loop.max / 1e6;
      assert.ok(longestStallMs < lockTimeoutMs / 2, `the event loop stalled for ${longestStallMs} ms`);
      const [first = 0, last = 0] = [Math.min(...refusedAt), Math.max(...refusedAt)];
      assert.ok(
        first >= lockTimeoutMs * 0.9 && last <= lockTimeoutMs * 1.5,
        `writes were refused after ${first.toFixed(0)}–${last.toFixed(0)} ms; the lock timeout is ${lockTimeoutMs} ms`,
      );
      assert.equal(other.prepare("select count(*) as n from person where fname like 'Waiting%'").pluck().get(), 0);
      const later = await store.transaction((tx) => insertPerson(tx, { fname: "Later", lname: "Unit" }, timestamp));
      assert.notEqual(later, "duplicate-name");
    } finally {
      loop.disable();
      if (other.inTransaction) other.exec("rollback");
      other.close();
      await store.close();
      await database.destroy();
    }
  });

  test("a full disk answers 507, changes nothing, and reads keep working", async () => {
    const started = await startApp({ engine: "sqlite" });
    try {
      const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(started.store.db);
      await sql.raw(`pragma max_page_count = ${rows[0]?.page_count}`).execute(started.store.db);
      const big = "x".repeat(9000);
      let response = await started.inject(postNote(big));
      for (let i = 0; i < 50 && response.statusCode === 201; i++) response = await started.inject(postNote(big));
      assert.equal(response.statusCode, 507, response.body);
      assert.match(response.json().detail, /storage is full/);
      assert.equal(response.headers["retry-after"], undefined);
      assert.equal((await started.inject({ url: "/api/people/1" })).statusCode, 200);
      assert.equal((await started.inject({ url: "/api/notes" })).statusCode, 200);
    } finally {
      await started.close();
    }
  });

  test("a final checkpoint that cannot finish is logged, and the WAL is kept", async () => {
    const database = await createDatabase("sqlite");
    const path = database.path as string;
    const logged: { level: string; message: string }[] = [];
    const log: StoreLog = {
      warn: (_fields, message) => logged.push({ level: "warn", message }),
      error: (_fields, message) => logged.push({ level: "error", message }),
    };
    const store = openStore({ engine: "sqlite", path }, log);
    const reader = new BetterSqlite3(path);
    try {
      await prepareDatabase(store);
      reader.exec("begin");
      reader.prepare("select count(*) from note").get();
      await store.transaction(async (tx) => insertNote(tx, 1, "after the reader began", "2024-01-01T00:00:00.000Z"));
      await store.close();
      assert.ok(
        logged.some((line) => line.level === "error" && /-wal holds committed data/.test(line.message)),
        JSON.stringify(logged),
      );
      assert.ok(existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0);
    } finally {
      reader.close();
      await database.destroy();
    }
  });
});
