import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Store } from "../../src/db/database.js";
import { engines, insertNotes, insertPeople, useApp } from "../support/app.js";

/** The trigger-kept totals, next to the real row counts. */
async function totals(store: Store) {
  const counters = await store.db.selectFrom("counter").select(["name", "value"]).execute();
  const kept = Object.fromEntries(counters.map((c) => [c.name, Number(c.value)]));
  const real = async (table: "person" | "note") =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { kept, real: { person: await real("person"), note: await real("note") } };
}

for (const engine of engines()) {
  describe(`row counters (${engine})`, () => {
    const api = useApp(engine);

    async function assertCounts(person: number, note: number) {
      const { kept, real } = await totals(api.store);
      assert.deepEqual(real, { person, note });
      assert.deepEqual(kept, { person, note });
      const people = await api.get("/api/people?limit=1");
      const notes = await api.get("/api/notes?limit=1");
      assert.equal(people.headers["x-total-count"], String(person));
      assert.equal(notes.headers["x-total-count"], String(note));
    }

    test("start with the seeded rows", async () => {
      await assertCounts(3, 7);
    });

    test("count rows inserted one at a time and many at once", async () => {
      const person = await api.createSomeone();
      await api.createNote(person.person_id, "One");
      await assertCounts(4, 8);
      await insertNotes(api.store, person.person_id, ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]);
      await insertPeople(api.store, [
        ["Counted", "One"],
        ["Counted", "Two"],
      ]);
      await assertCounts(6, 10);
    });

    test("count deleted notes", async () => {
      assert.equal((await api.delete("/api/people/1/notes/1")).statusCode, 204);
      await assertCounts(6, 9);
    });

    test("count the notes a person's deletion takes with it", async () => {
      assert.equal((await api.delete("/api/people/2")).statusCode, 204);
      await assertCounts(5, 7);
      const person = await api.createSomeone();
      await insertNotes(api.store, person.person_id, ["2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z"]);
      await assertCounts(6, 9);
      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      await assertCounts(5, 7);
    });

    test("count rows deleted many at once", async () => {
      await api.store.db.deleteFrom("note").where("person_id", "=", 1).execute();
      await assertCounts(5, 5);
      await api.store.db.deleteFrom("person").where("lname", "in", ["One", "Two"]).execute();
      await assertCounts(3, 5);
    });

    test("a refused insert counts nothing", async () => {
      assert.equal((await api.post("/api/people", { fname: "Bunny", lname: "Easter" })).statusCode, 409);
      assert.equal((await api.post("/api/people/999/notes", { content: "Orphan" })).statusCode, 404);
      await assertCounts(3, 5);
    });
  });
}
