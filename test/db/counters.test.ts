import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
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
