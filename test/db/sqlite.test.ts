import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { createDatabase, type TestDatabase } from "../support/app.js";

describe("the SQLite connection", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createDatabase("sqlite");
  });
  after(() => database.destroy());

  async function pragma(name: string): Promise<unknown> {
    const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(database.store.db);
    return Object.values(rows[0] ?? {})[0];
  }

  test("writes ahead to a log (WAL), so readers never block the writer", async () => {
    assert.equal(await pragma("journal_mode"), "wal");
  });

  test("syncs every commit to disk (synchronous = FULL)", async () => {
    assert.equal(await pragma("synchronous"), 2);
  });

  test("enforces foreign keys, which the cascading delete of notes relies on", async () => {
    assert.equal(await pragma("foreign_keys"), 1);
  });

  test("never waits for another process's lock inside SQLite (busy_timeout 0), so the process keeps answering", async () => {
    assert.equal(await pragma("busy_timeout"), 0);
  });

  test("every new connection gets the same settings", async () => {
    const another = database.openAnother();
    for (const name of ["journal_mode", "synchronous", "foreign_keys"]) {
      const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(another.db);
      assert.deepEqual(Object.values(rows[0] ?? {})[0], await pragma(name), name);
    }
  });
});
