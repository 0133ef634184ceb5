import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CompiledQuery } from "kysely";
import { buildApp } from "../../src/app.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { createDatabase, insertNotes, type TestDatabase } from "../support/app.js";
import { recording } from "../support/recording.js";

/**
 * Every query a request runs, checked with SQLite's query planner: no table is scanned without an
 * index and no result is sorted in a temporary B-tree, so a request costs the same however many
 * rows the database holds.
 */
describe("every query a request runs uses an index (sqlite)", () => {
  let database: TestDatabase;
  const recorded: CompiledQuery[] = [];

  before(async () => {
    database = await createDatabase("sqlite");
    await prepareDatabase(database.store);
    await insertNotes(
      database.store,
      1,
      Array.from({ length: 30 }, (_, i) => `2020-01-${String(i + 1).padStart(2, "0")}T00:00:00.000Z`),
    );
    const app = await buildApp({ store: recording(database.store, recorded) });
    const requests: [string, string, object?][] = [
      ["GET", "/api/people"],
      ["GET", "/api/people?limit=1"],
      ["GET", "/api/people/1"],
      ["GET", "/api/people/1/notes"],
      ["GET", "/api/people/1/notes?limit=2"],
      ["GET", "/api/people/1/notes/1"],
      ["GET", "/api/notes"],
      ["GET", "/api/notes?limit=2"],
      ["POST", "/api/people", { fname: "Index", lname: "Checked" }],
      ["PUT", "/api/people/4", { fname: "Index", lname: "Checked Again" }],
      ["POST", "/api/people/4/notes", { content: "Indexed" }],
      ["PUT", "/api/people/4/notes/38", { content: "Indexed again" }],
      ["DELETE", "/api/people/4/notes/38"],
      ["DELETE", "/api/people/4"],
    ];
    for (const [method, url, payload] of requests) {
      const response = await app.inject({ method: method as "GET", url, ...(payload ? { payload } : {}) });
      assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
      const next = /<([^>]+)>; rel="next"/.exec(String(response.headers.link ?? ""))?.[1];
      if (next) assert.equal((await app.inject({ url: next })).statusCode, 200);
    }
    await app.close();
  });

  after(() => database.destroy());

  test("the requests' queries were recorded, pages after the first included", () => {
    assert.ok(recorded.length >= 20, `only ${recorded.length} queries recorded`);
    assert.ok(recorded.some((query) => /\(.*\) [<>] \(/.test(query.sql)));
  });

  test("no full scan and no sort outside an index", async () => {
    for (const query of recorded) {
      const steps = (await explain(database, query)).map((row) => row.detail);
      for (const step of steps) {
        assert.doesNotMatch(step, /^SCAN \w+$/, `${query.sql}\n  full scan: ${steps.join(" | ")}`);
        assert.doesNotMatch(step, /TEMP B-TREE/, `${query.sql}\n  sorts outside an index: ${steps.join(" | ")}`);
      }
    }
  });
});

/** EXPLAIN QUERY PLAN with the query's own parameters bound. */
async function explain(database: TestDatabase, query: CompiledQuery): Promise<{ detail: string }[]> {
  const { rows } = await database.store.db.executeQuery<{ detail: string }>({
    ...query,
    sql: `explain query plan ${query.sql}`,
  });
  return rows;
}
