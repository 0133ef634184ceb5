import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { foldCountsPeriodically } from "../../src/db/count-folding.js";
import { migrateToLatest } from "../../src/db/database.js";
import { countNotes } from "../../src/db/notes-repository.js";
import { createDatabase, insertNotes, insertPeople, type TestDatabase } from "../support/app.js";
import { eventually } from "../support/eventually.js";

const INTERVAL_MS = 20;

class RecordingLog {
  warnings: string[] = [];
  warn(_fields: object, message: string): void {
    this.warnings.push(message);
  }
  error(_fields: object, message: string): void {
    this.warnings.push(message);
  }
}

async function watermark(database: TestDatabase): Promise<number> {
  const { rows } = await sql<{ last_folded: string }>`
    select last_folded from count_watermark where name = 'note'`.execute(database.store.db);
  return Number(rows[0]?.last_folded);
}

describe("note counts folded periodically (postgres)", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createDatabase("postgres");
    await migrateToLatest(database.store);
    await insertPeople(database.store, [["Ada", "Lovelace"]]);
  });
  after(() => database.destroy());

  test("notes inserted while it runs are folded, and the totals stay exact throughout", async () => {
    const log = new RecordingLog();
    const folding = foldCountsPeriodically(database.store, log, INTERVAL_MS);
    try {
      const before = await countNotes(database.store);
      await insertNotes(database.store, 1, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
      const { rows } = await sql<{ newest: string }>`select max(note_id) as newest from note`.execute(
        database.store.db,
      );
      const newest = Number(rows[0]?.newest);
      assert.equal(await countNotes(database.store), before + 2);
      await eventually(async () => (await watermark(database)) === newest, Boolean, "a fold up to the newest note");
      assert.equal(await countNotes(database.store), before + 2);
    } finally {
      folding.stop();
    }
    assert.deepEqual(log.warnings, []);
  });

  test("after stop() resolves, nothing is folded any more", async () => {
    const folding = foldCountsPeriodically(database.store, new RecordingLog(), INTERVAL_MS);
    folding.stop();
    const before = await watermark(database);
    await insertNotes(database.store, 1, ["2020-02-01T00:00:00.000Z"]);
    await sleep(INTERVAL_MS * 5);
    assert.equal(await watermark(database), before);
  });

  test("a fold that fails is logged once, however often it fails", async () => {
    const other = await createDatabase("postgres");
    try {
      // No migrations: there is no fold function to call.
      const log = new RecordingLog();
      const folding = foldCountsPeriodically(other.store, log, INTERVAL_MS);
      await eventually(async () => log.warnings.length > 0, Boolean, "a warning");
      await sleep(INTERVAL_MS * 5);
      folding.stop();
      assert.equal(log.warnings.length, 1, log.warnings.join("\n"));
      assert.match(log.warnings[0] ?? "", /could not fold the note counts/);
    } finally {
      await other.destroy();
    }
  });
});
