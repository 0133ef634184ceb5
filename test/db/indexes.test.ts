import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CompiledQuery } from "kysely";
import { migrateToLatest } from "../../src/db/database.js";
import { NotesRepository } from "../../src/db/notes-repository.js";
import { PeopleRepository } from "../../src/db/people-repository.js";
import type { QueryRunner } from "../../src/db/prepared.js";
import { createDatabase, insertNotes, insertPeople, type TestDatabase } from "../support/app.js";

/**
 * Every read the repositories run, checked with SQLite's query planner: no table is scanned
 * without an index and no result is sorted in a temporary B-tree, so a page costs the same
 * however many rows come before it.
 */
describe("every list and lookup uses an index (sqlite)", () => {
  let database: TestDatabase;
  const recorded: CompiledQuery[] = [];

  before(async () => {
    database = await createDatabase("sqlite");
    await migrateToLatest(database.store);
    await insertPeople(database.store, [
      ["Ada", "Lovelace"],
      ["Alan", "Turing"],
    ]);
    await insertNotes(database.store, 1, ["2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"]);

    const { db, runner } = database.store;
    const recording: QueryRunner = {
      executeQuery(query) {
        recorded.push(query);
        return runner.executeQuery(query);
      },
    };
    const people = new PeopleRepository(db, recording);
    const notes = new NotesRepository(db, recording);
    await people.list(10);
    await people.list(10, ["lovelace", "ada", 1]);
    await people.find(1);
    await people.count();
    await people.newestNotes([1], 20);
    await notes.list(10);
    await notes.list(10, ["2021-01-01T00:00:00.000Z", 2]);
    await notes.listByPerson(1, 10);
    await notes.listByPerson(1, 10, ["2021-01-01T00:00:00.000Z", 2]);
    await notes.find(1, 1);
    await notes.count();
    await notes.countByPerson(1);
  });

  after(() => database.destroy());

  test("the queries were recorded", () => {
    assert.equal(recorded.length, 12);
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
