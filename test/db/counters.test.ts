import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { DatabaseUnavailableError } from "../../src/db/errors.js";
import { foldNoteCounts } from "../../src/db/notes-repository.js";
import { Api, engines, insertNotes, insertPeople, startApp } from "../support/app.js";
import { totals } from "../support/counts.js";

/** Each test gets a database of its own, seeded with the tutorial's 3 people and 7 notes. */
async function withApp(engine: "sqlite" | "postgres", work: (api: Api, assertCounts: AssertCounts) => Promise<void>) {
  const started = await startApp({ engine });
  const api = new Api(engine);
  api.started = started;
  const assertCounts: AssertCounts = async (person, note) => {
    const { kept, real, keptPerPerson, realPerPerson } = await totals(started.store);
    assert.deepEqual(real, { person, note });
    assert.deepEqual(kept, { person, note });
    assert.deepEqual(keptPerPerson, realPerPerson, "each person's kept note count is their real one");
    assert.equal((await api.get("/api/people?limit=1")).headers["x-total-count"], String(person));
    assert.equal((await api.get("/api/notes?limit=1")).headers["x-total-count"], String(note));
    for (const [personId, count] of realPerPerson) {
      const notes = await api.get(`/api/people/${personId}/notes?limit=1`);
      assert.equal(notes.headers["x-total-count"], String(count), `person ${personId}`);
    }
  };
  try {
    await work(api, assertCounts);
  } finally {
    await started.close();
  }
}

type AssertCounts = (person: number, note: number) => Promise<void>;

for (const engine of engines()) {
  describe(`row counters (${engine})`, () => {
    test("start with the seeded rows", () =>
      withApp(engine, async (_api, assertCounts) => {
        await assertCounts(3, 7);
      }));

    test("count rows inserted one at a time and many at once", () =>
      withApp(engine, async (api, assertCounts) => {
        const person = await api.createSomeone();
        await api.createNote(person.person_id, "One");
        await assertCounts(4, 8);
        await insertNotes(api.store, person.person_id, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
        await insertPeople(api.store, [
          ["Counted", "One"],
          ["Counted", "Two"],
        ]);
        await assertCounts(6, 10);
      }));

    test("count deleted notes", () =>
      withApp(engine, async (api, assertCounts) => {
        assert.equal((await api.delete("/api/people/1/notes/1")).statusCode, 204);
        await assertCounts(3, 6);
      }));

    test("count the notes a person's deletion takes with it", () =>
      withApp(engine, async (api, assertCounts) => {
        assert.equal((await api.delete("/api/people/2")).statusCode, 204);
        await assertCounts(2, 5);
        const person = await api.createSomeone();
        await insertNotes(api.store, person.person_id, ["2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z"]);
        await assertCounts(3, 7);
        assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
        await assertCounts(2, 5);
      }));

    test("count rows deleted many at once", () =>
      withApp(engine, async (api, assertCounts) => {
        await insertPeople(api.store, [
          ["Counted", "One"],
          ["Counted", "Two"],
        ]);
        await api.store.db.deleteFrom("note").where("person_id", "=", 1).execute();
        await assertCounts(5, 4);
        await api.store.db.deleteFrom("person").where("lname", "in", ["One", "Two"]).execute();
        await assertCounts(3, 4);
      }));

    test("a refused insert counts nothing", () =>
      withApp(engine, async (api, assertCounts) => {
        assert.equal((await api.post("/api/people", { fname: "Bunny", lname: "Easter" })).statusCode, 409);
        assert.equal((await api.post("/api/people/999/notes", { content: "Orphan" })).statusCode, 404);
        await assertCounts(3, 7);
      }));

    test("a rolled-back transaction counts nothing", () =>
      withApp(engine, async (api, assertCounts) => {
        await assert.rejects(
          api.store.db.transaction().execute(async (tx) => {
            await sql`insert into note (person_id, content, timestamp) values (1, 'gone', '2020-01-01T00:00:00.000Z')`.execute(
              tx,
            );
            throw new Error("roll back");
          }),
          /roll back/,
        );
        await assertCounts(3, 7);
      }));
  });
}

describe("note counts kept up to a watermark and folded (postgres)", () => {
  const slotSums = async (api: Api) => {
    const { rows } = await sql<{ table_total: string; person_total: string }>`
      select (select coalesce(sum(value), 0) from table_count where name = 'note') as table_total,
             (select coalesce(sum(value), 0) from person_note_count) as person_total`.execute(api.store.db);
    return rows[0];
  };
  const fold = (api: Api) => foldNoteCounts(api.store);

  test("inserting notes writes no counter row; a fold moves them into the counts once", () =>
    withApp("postgres", async (api, assertCounts) => {
      await fold(api);
      const before = await slotSums(api);
      const person = await api.createSomeone();
      for (const content of ["One", "Two", "Three"]) await api.createNote(person.person_id, content);
      await insertNotes(api.store, 1, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
      assert.deepEqual(await slotSums(api), before, "no counter row changed");
      await assertCounts(4, 12);
      assert.equal(await fold(api), 5);
      assert.equal(await fold(api), 0, "nothing left to fold");
      await assertCounts(4, 12);
      assert.notDeepEqual(await slotSums(api), before);
    }));

  test("notes deleted below and above the watermark, and with their person, are counted exactly", () =>
    withApp("postgres", async (api, assertCounts) => {
      const person = await api.createSomeone();
      await insertNotes(api.store, person.person_id, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
      await fold(api);
      await insertNotes(api.store, person.person_id, ["2020-01-03T00:00:00.000Z", "2020-01-04T00:00:00.000Z"]);
      await insertNotes(api.store, 1, ["2020-01-05T00:00:00.000Z"]);
      await assertCounts(4, 12);
      // One folded note and one live note of the same person, in one statement.
      const { rows } = await sql<{ note_id: number }>`
        select note_id from note where person_id = ${person.person_id} order by note_id`.execute(api.store.db);
      const ids = rows.map((row) => Number(row.note_id));
      await api.store.db
        .deleteFrom("note")
        .where("note_id", "in", [ids[0] as number, ids[3] as number])
        .execute();
      await assertCounts(4, 10);
      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      await assertCounts(3, 8);
      await fold(api);
      await assertCounts(3, 8);
    }));

  test("a note written with an explicit id below the watermark is counted at once", () =>
    withApp("postgres", async (api, assertCounts) => {
      assert.equal((await api.delete("/api/people/1/notes/1")).statusCode, 204);
      await fold(api);
      await sql`insert into note (note_id, person_id, content, timestamp)
                values (1, 2, 'restored', '2020-01-01T00:00:00.000Z')`.execute(api.store.db);
      await assertCounts(3, 7);
      await fold(api);
      await assertCounts(3, 7);
    }));

  test("a fold rolled back after raising the trigger's hint leaves every count exact", () =>
    withApp("postgres", async (api, assertCounts) => {
      await fold(api);
      await insertNotes(api.store, 1, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
      await assert.rejects(
        api.store.db.transaction().execute(async (tx) => {
          await sql`select fold_note_counts()`.execute(tx);
          throw new Error("roll back");
        }),
        /roll back/,
      );
      // The hint now stands above the watermark: a note written in between is still counted live only.
      const { rows } = await sql<{ newest: string }>`select max(note_id) as newest from note`.execute(api.store.db);
      const newest = Number(rows[0]?.newest);
      await api.store.db.deleteFrom("note").where("note_id", "=", newest).execute();
      await sql`insert into note (note_id, person_id, content, timestamp)
                values (${newest}, 2, 'rewritten', '2020-01-03T00:00:00.000Z')`.execute(api.store.db);
      await assertCounts(3, 9);
      await fold(api);
      await assertCounts(3, 9);
    }));

  test("folds running during concurrent inserts and deletes count every note exactly once", () =>
    withApp("postgres", async (api, assertCounts) => {
      const writers = Array.from({ length: 6 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) {
          const created = await api.createNote((writer % 3) + 1, `concurrent ${writer}-${i}`);
          if (i % 5 === 0) {
            const answer = await api.delete(`/api/people/${created.person_id}/notes/${created.note_id}`);
            assert.equal(answer.statusCode, 204);
          }
        }
      });
      let folding = true;
      let folded = 0;
      const folder = (async () => {
        for (let round = 0; folding && round < 500; round++) {
          try {
            folded += await fold(api);
          } catch (error) {
            // As the periodic fold does (src/db/count-folding.ts): a fold that waited past the
            // lock timeout for the writers is left to the next round.
            if (!(error instanceof DatabaseUnavailableError)) throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await Promise.all(writers);
      folding = false;
      await folder;
      assert.ok(folded > 0, "the folds ran while notes were written");
      await assertCounts(3, 7 + 6 * 20);
      await fold(api);
      await assertCounts(3, 7 + 6 * 20);
    }));

  test("two folds at once fold the notes once", () =>
    withApp("postgres", async (api, assertCounts) => {
      await insertNotes(
        api.store,
        1,
        Array.from({ length: 50 }, (_, i) => new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString()),
      );
      // Four open connections first, so that the folds start together rather than one per new connection.
      await Promise.all(Array.from({ length: 4 }, () => sql`select pg_sleep(0.05)`.execute(api.store.db)));
      const results = await Promise.all(Array.from({ length: 4 }, () => fold(api)));
      assert.equal(
        results.reduce((sum, n) => sum + n, 0),
        57,
        `folded ${results.join(", ")}`,
      );
      await assertCounts(3, 57);
    }));
});
