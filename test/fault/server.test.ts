import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { openStore } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { runToExit, startServer } from "../support/server-process.js";

const dir = mkdtempSync(join(tmpdir(), "people-notes-fault-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const freshDatabase = () => join(dir, `run-${++counter}`, "nested", "people.db");

async function json(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

const postNote = (url: string, content: string) =>
  fetch(`${url}/api/people/1/notes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });

describe("start-up", () => {
  test("a missing database is created, migrated and seeded once", async () => {
    const path = freshDatabase();
    const first = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const people = await json(`${first.url}/api/people`);
    assert.deepEqual(
      people.body.map((p: { lname: string }) => p.lname),
      ["Brockman", "Easter", "Farrell"],
    );
    const created = await json(`${first.url}/api/people`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fname: "Homer", lname: "Simpson" }),
    });
    assert.equal(created.status, 201);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);

    const second = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const again = await json(`${second.url}/api/people`);
    assert.equal(again.body.length, 4, "a restart keeps the data and does not seed again");
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
  });

  for (const [name, env, message] of [
    ["PORT", { PORT: "http" }, /PORT must be a whole number/],
    ["DATABASE_URL", { DATABASE_URL: "mysql://localhost/x" }, /DATABASE_URL must start with sqlite: or postgres:\/\//],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
  ] as const) {
    test(`an invalid ${name} stops start-up with a clear message`, async () => {
      const { code, output } = await runToExit({ DATABASE_URL: `sqlite:${freshDatabase()}`, ...env });
      assert.equal(code, 1);
      assert.match(output, message);
    });
  }

  test("request logs are JSON lines carrying the request id", async () => {
    const server = await startServer({ DATABASE_URL: `sqlite:${freshDatabase()}`, LOG_LEVEL: "info" });
    const response = await fetch(`${server.url}/api/people/1`, { headers: { "x-request-id": "trace-42" } });
    assert.equal(response.headers.get("x-request-id"), "trace-42");
    server.child.kill("SIGTERM");
    await server.exited;
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
    const completed = lines.find((line) => line.reqId === "trace-42" && line.msg === "request completed");
    assert.ok(completed, "the completed request is logged with its id");
    assert.equal(completed.statusCode, 200);
    assert.equal(completed.url, "/api/people/1");
    const stopped = lines.findIndex((line) => line.msg === "stopped cleanly");
    assert.ok(stopped > lines.indexOf(completed), "every line is written, the last one included, before the exit");
  });
});

describe("shutdown and crashes", () => {
  test("SIGTERM lets in-flight requests finish, loses no acknowledged write, and exits 0", async () => {
    const path = freshDatabase();
    const server = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const acknowledged: number[] = [];
    let refused = 0;
    const requests = Array.from({ length: 60 }, (_, i) =>
      postNote(server.url, `in flight ${i}`).then(
        async (response) => {
          if (response.status === 201) acknowledged.push((await response.json()).note_id);
          else {
            assert.equal(response.status, 503, "a request after shutdown began is refused, not failed");
            refused += 1;
          }
        },
        () => {
          refused += 1; // the listener was already closed
        },
      ),
    );
    await Promise.race(requests);
    server.child.kill("SIGTERM");
    await Promise.all(requests);
    assert.equal(await server.exited, 0);
    assert.equal(acknowledged.length + refused, 60);
    assert.ok(acknowledged.length > 0);
    assert.equal(existsSync(`${path}-wal`), false, "closing the database checkpoints and removes the WAL");

    const restarted = await startServer({ DATABASE_URL: `sqlite:${path}` });
    for (const noteId of acknowledged) {
      assert.equal((await fetch(`${restarted.url}/api/people/1/notes/${noteId}`)).status, 200);
    }
    const total = Number((await fetch(`${restarted.url}/api/notes?limit=1`)).headers.get("x-total-count"));
    assert.equal(total, 3 + 2 + 2 + acknowledged.length, "every acknowledged note and nothing else was stored");
    restarted.child.kill("SIGTERM");
    await restarted.exited;
  });

  test("a killed process (SIGKILL) keeps every acknowledged write", async () => {
    const path = freshDatabase();
    const server = await startServer({ DATABASE_URL: `sqlite:${path}` });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await postNote(server.url, `before the crash ${i}`);
      assert.equal(response.status, 201);
      ids.push((await response.json()).note_id);
    }
    server.child.kill("SIGKILL");
    await server.exited;

    const restarted = await startServer({ DATABASE_URL: `sqlite:${path}` });
    for (const noteId of ids) {
      assert.equal((await fetch(`${restarted.url}/api/people/1/notes/${noteId}`)).status, 200);
    }
    restarted.child.kill("SIGTERM");
    await restarted.exited;
  });
});

describe("many processes on one PostgreSQL database", () => {
  test("processes started together on a new database all serve the one seeded data set", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test";
    const schema = `fault_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    try {
      const servers = await Promise.all([1, 2, 3].map(() => startServer({ DATABASE_URL: `${url}?schema=${schema}` })));
      for (const server of servers) {
        const people = await json(`${server.url}/api/people`);
        assert.equal(people.body.length, 3);
      }
      const notes = await admin.query(`select count(*)::int as n from ${schema}.note`);
      assert.equal(notes.rows[0].n, 7);
      for (const server of servers) server.child.kill("SIGTERM");
      assert.deepEqual(await Promise.all(servers.map((server) => server.exited)), [0, 0, 0]);
    } finally {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });

  test("start-ups racing on a new database seed it once; the others carry on", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test";
    const schema = `race_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const stores = [1, 2, 3].map(() => openStore({ engine: "postgres", url, schema }));
    try {
      const results = await Promise.all(stores.map((store) => prepareDatabase(store)));
      assert.deepEqual(results.map((result) => result.seeded).sort(), [false, false, true]);
      const people = await admin.query(`select count(*)::int as n from ${schema}.person`);
      assert.equal(people.rows[0].n, 3);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });
});
