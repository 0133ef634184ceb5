import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, useApp } from "../support/app.js";
import { assertProblem } from "../support/assertions.js";

for (const engine of engines()) {
  describe(`ids (${engine})`, () => {
    const api = useApp(engine);

    test("a person's id is never reused, even after deleting the newest person", async () => {
      const newest = await api.createSomeone();
      assert.equal((await api.delete(`/api/people/${newest.person_id}`)).statusCode, 204);
      const next = await api.createSomeone();
      assert.ok(next.person_id > newest.person_id, `${next.person_id} > ${newest.person_id}`);
      assertProblem(await api.get(`/api/people/${newest.person_id}`), 404);
    });

    test("a note's id is never reused, even after deleting the newest note", async () => {
      const newest = await api.createNote(1, "Soon gone");
      assert.equal((await api.delete(`/api/people/1/notes/${newest.note_id}`)).statusCode, 204);
      const next = await api.createNote(1, "Here to stay");
      assert.ok(next.note_id > newest.note_id, `${next.note_id} > ${newest.note_id}`);
      assertProblem(await api.get(`/api/people/1/notes/${newest.note_id}`), 404);
    });

    test("ids of a deleted person's notes are not reused either", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "Goes with its person");
      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      assert.ok((await api.createNote(1, "After")).note_id > note.note_id);
    });

    test("ids beyond 32 bits are stored and found", async () => {
      const big = 2 ** 40;
      await api.store.db
        .insertInto("person")
        .values({
          person_id: big,
          fname: "Big",
          lname: "Number",
          fname_key: "big",
          lname_key: "number",
          timestamp: "2020-01-01T00:00:00.000Z",
        })
        .execute();
      const response = await api.get(`/api/people/${big}`);
      assert.equal(response.statusCode, 200);
      assert.equal(response.json().person_id, big);
      const note = await api.createNote(big, "From far away");
      assert.equal(note.person_id, big);
    });
  });
}
