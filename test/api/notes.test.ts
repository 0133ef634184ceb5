import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, type Note, type Person, useApp } from "../support/app.js";
import { assertInvalidFields, assertProblem, assertUtcTimestamp } from "../support/assertions.js";

/** The tutorial's notes have ids 1 to 7. */
const SEEDED_NOTES = 7;
/** Before any timestamp the service writes, so a change to one shows. */
const A_LONG_TIME_AGO = "2000-01-01T00:00:00.000Z";

for (const engine of engines()) {
  describe(`notes (${engine})`, () => {
    const api = useApp(engine);

    test("create answers 201 with the note, its author and its Location", async () => {
      const person = await api.createSomeone();
      const response = await api.post(`/api/people/${person.person_id}/notes`, { content: "Mmm… donuts." });
      assert.equal(response.statusCode, 201);
      const note = response.json<Note>();
      assert.equal(note.content, "Mmm… donuts.");
      assert.equal(note.person_id, person.person_id);
      assert.deepEqual(note.person, {
        person_id: person.person_id,
        fname: person.fname,
        lname: person.lname,
        timestamp: person.timestamp,
      });
      assertUtcTimestamp(note.timestamp);
      assert.ok(note.note_id > 7);
      assert.equal(response.headers.location, `/api/people/${person.person_id}/notes/${note.note_id}`);
      assert.deepEqual((await api.get(String(response.headers.location))).json(), note);
    });

    test("create stores the content without surrounding whitespace", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "\n  Trimmed  \t");
      assert.equal(note.content, "Trimmed");
    });

    test("a new note is listed first, for its person and for everyone", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "Hot off the press");
      assert.equal((await api.get("/api/notes")).json<Note[]>()[0]?.note_id, note.note_id);
      assert.equal((await api.get(`/api/people/${person.person_id}/notes`)).json<Note[]>()[0]?.note_id, note.note_id);
      assert.equal((await api.get(`/api/people/${person.person_id}`)).json<Person>().notes[0]?.note_id, note.note_id);
    });

    test("creating a note for a person who does not exist is 404", async () => {
      assertProblem(
        await api.post("/api/people/999/notes", { content: "Hello?" }),
        404,
        "Person not found for Id: 999",
      );
    });

    test("reads one of a person's notes, with its author", async () => {
      const response = await api.get("/api/people/1/notes/2");
      assert.equal(response.statusCode, 200);
      const { notes: _notes, ...doug } = (await api.get("/api/people/1")).json<Person>();
      assert.deepEqual(response.json<Note>(), {
        note_id: 2,
        person_id: 1,
        content: "This could be useful",
        timestamp: "2019-01-08T22:17:54.000Z",
        person: doug,
      });
    });

    test("reading a note that does not exist is 404", async () => {
      assertProblem(await api.get("/api/people/1/notes/999"), 404, "Note not found for Id: 999");
      assertProblem(await api.get("/api/people/999/notes/1"), 404, "Note not found for Id: 1");
    });

    test("lists one person's notes, newest first", async () => {
      const response = await api.get("/api/people/1/notes");
      assert.equal(response.statusCode, 200);
      const notes = response.json<Note[]>();
      assert.deepEqual(
        notes.map((n) => n.note_id),
        [3, 2, 1],
      );
      assert.equal(response.headers["x-total-count"], "3");
      for (const note of notes) assert.equal(note.person.lname, "Farrell");
    });

    test("a person with no notes has an empty list", async () => {
      const person = await api.createSomeone();
      const response = await api.get(`/api/people/${person.person_id}/notes`);
      assert.deepEqual(response.json(), []);
      assert.equal(response.headers["x-total-count"], "0");
    });

    test("listing the notes of a person who does not exist is 404", async () => {
      assertProblem(await api.get("/api/people/999/notes"), 404, "Person not found for Id: 999");
    });

    test("update changes the content and answers the note", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "Draft");
      const response = await api.put(`/api/people/${person.person_id}/notes/${note.note_id}`, { content: " Final " });
      assert.equal(response.statusCode, 200);
      const updated = response.json<Note>();
      assert.equal(updated.note_id, note.note_id);
      assert.equal(updated.content, "Final");
      assert.deepEqual(updated.person, note.person);
      assert.deepEqual((await api.get(`/api/people/${person.person_id}/notes/${note.note_id}`)).json(), updated);
    });

    test("updating a note that does not exist is 404", async () => {
      assertProblem(await api.put("/api/people/1/notes/999", { content: "Nope" }), 404, "Note not found for Id: 999");
      assertProblem(await api.put("/api/people/999/notes/1", { content: "Nope" }), 404, "Note not found for Id: 1");
    });

    test("delete answers 204 with no body, and the note is gone", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "Short-lived");
      const response = await api.delete(`/api/people/${person.person_id}/notes/${note.note_id}`);
      assert.equal(response.statusCode, 204);
      assert.equal(response.body, "");
      const url = `/api/people/${person.person_id}/notes/${note.note_id}`;
      assertProblem(await api.get(url), 404, `Note not found for Id: ${note.note_id}`);
      assertProblem(await api.delete(url), 404, `Note not found for Id: ${note.note_id}`);
      assert.deepEqual((await api.get(`/api/people/${person.person_id}`)).json<Person>().notes, []);
    });

    test("deleting a note that does not exist is 404", async () => {
      assertProblem(await api.delete("/api/people/1/notes/999"), 404, "Note not found for Id: 999");
      assertProblem(await api.delete("/api/people/999/notes/1"), 404, "Note not found for Id: 1");
    });
  });

  describe(`note ownership (${engine})`, () => {
    const api = useApp(engine);
    // Note 4 is Kent Brockman's (person 2); person 1 is Doug Farrell.
    const kentsNote = "/api/people/2/notes/4";
    const throughDoug = "/api/people/1/notes/4";

    test("another person's note cannot be read through your URL", async () => {
      assertProblem(await api.get(throughDoug), 404, "Note not found for Id: 4");
    });

    test("another person's note cannot be changed through your URL", async () => {
      const before = (await api.get(kentsNote)).json<Note>();
      assertProblem(await api.put(throughDoug, { content: "Doug was here" }), 404, "Note not found for Id: 4");
      assert.deepEqual((await api.get(kentsNote)).json(), before);
    });

    test("another person's note cannot be deleted through your URL", async () => {
      assertProblem(await api.delete(throughDoug), 404, "Note not found for Id: 4");
      assert.equal((await api.get(kentsNote)).statusCode, 200);
      assert.deepEqual(
        (await api.get("/api/people/2/notes")).json<Note[]>().map((n) => n.note_id),
        [5, 4],
      );
    });

    test("a note sent with another person's id still belongs to the person in the URL", async () => {
      const response = await api.post("/api/people/1/notes", { content: "Mine", person_id: 2, note_id: 4 });
      assert.equal(response.statusCode, 201);
      const note = response.json<Note>();
      assert.equal(note.person_id, 1);
      assert.notEqual(note.note_id, 4);
      assert.equal((await api.get(kentsNote)).json<Note>().content, "I'm going to make really profound observations");
    });
  });

  describe(`note timestamps (${engine})`, () => {
    const api = useApp(engine);

    test("an edited note gets a new timestamp and moves to the top of every list", async () => {
      const order = async () => (await api.get("/api/notes?limit=1000")).json<Note[]>().map((n) => n.note_id);
      const before = await order();
      assert.equal(before.at(-1), 1);
      const response = await api.put("/api/people/1/notes/1", {
        content: "Cool, a mini-blogging application! (edited)",
      });
      assert.equal(response.statusCode, 200);
      const edited = response.json<Note>();
      assertUtcTimestamp(edited.timestamp);
      assert.ok(edited.timestamp > "2019-04-06T22:17:54.000Z", edited.timestamp);
      const after = await order();
      assert.deepEqual(after, [1, ...before.filter((id) => id !== 1)]);
      assert.deepEqual(
        after.filter((id) => id <= SEEDED_NOTES),
        [1, 7, 3, 5, 2, 6, 4],
      );
      assert.deepEqual(
        (await api.get("/api/people/1/notes")).json<Note[]>().map((n) => n.note_id),
        [1, 3, 2],
      );
      assert.deepEqual(
        (await api.get("/api/people/1")).json<Person>().notes.map((n) => n.note_id),
        [1, 3, 2],
      );
    });

    test("an update that changes nothing keeps the timestamp and the order", async () => {
      const order = async () => (await api.get("/api/notes")).json<Note[]>().map((n) => n.note_id);
      const before = await order();
      const response = await api.put("/api/people/2/notes/4", {
        content: "  I'm going to make really profound observations ",
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json<Note>().timestamp, "2019-01-07T22:17:54.000Z");
      assert.deepEqual(await order(), before);
    });

    test("a note's change does not change its person's timestamp", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "This could be useful");
      await api.store.db
        .updateTable("person")
        .set({ timestamp: A_LONG_TIME_AGO })
        .where("person_id", "=", person.person_id)
        .execute();
      const response = await api.put(`/api/people/${person.person_id}/notes/${note.note_id}`, {
        content: "This could be really useful",
      });
      assert.equal(response.statusCode, 200);
      assert.equal((await api.get(`/api/people/${person.person_id}`)).json<Person>().timestamp, A_LONG_TIME_AGO);
    });
  });

  describe(`note bodies (${engine})`, () => {
    const api = useApp(engine);

    test("fields the server owns are ignored on update", async () => {
      const before = (await api.get("/api/people/2/notes/5")).json<Note>();
      const response = await api.put("/api/people/1/notes/3", {
        content: "Well, sort of useful",
        note_id: 5,
        person_id: 2,
        timestamp: "1999-01-01T00:00:00.000Z",
        person: { person_id: 2 },
      });
      assert.equal(response.statusCode, 200);
      const note = response.json<Note>();
      assert.equal(note.note_id, 3);
      assert.equal(note.person_id, 1);
      assert.equal(note.timestamp, "2019-03-06T22:17:54.000Z");
      assert.deepEqual((await api.get("/api/people/2/notes/5")).json(), before);
    });

    test("fields the server owns are ignored on create", async () => {
      const response = await api.post("/api/people/3/notes", {
        content: "Backdated?",
        timestamp: "1999-01-01T00:00:00.000Z",
        person: { person_id: 1, fname: "Doug" },
      });
      assert.equal(response.statusCode, 201);
      const note = response.json<Note>();
      assert.notEqual(note.timestamp, "1999-01-01T00:00:00.000Z");
      assert.equal(note.person.fname, "Bunny");
    });

    test("an unknown field is 400 and names the field", async () => {
      assertInvalidFields(await api.post("/api/people/1/notes", { content: "Hi", title: "Greeting" }), [
        { in: "body", pointer: "/title" },
      ]);
      assertInvalidFields(await api.put("/api/people/1/notes/1", { content: "Hi", mood: "happy" }), [
        { in: "body", pointer: "/mood" },
      ]);
    });

    test("missing content is 400", async () => {
      assertInvalidFields(await api.post("/api/people/1/notes", {}), [{ in: "body", pointer: "/content" }]);
      assertInvalidFields(await api.put("/api/people/1/notes/1", { note_id: 1 }), [
        { in: "body", pointer: "/content" },
      ]);
    });

    test("content is never coerced from other types", async () => {
      for (const value of [5, false, null, ["text"], { text: "x" }]) {
        assertInvalidFields(await api.post("/api/people/1/notes", { content: value }), [
          { in: "body", pointer: "/content" },
        ]);
      }
      assertInvalidFields(await api.put("/api/people/1/notes/1", { content: 5 }), [
        { in: "body", pointer: "/content" },
      ]);
    });

    test("blank and whitespace-only content is 400", async () => {
      for (const blank of ["", " ", "\n\t  "]) {
        const problem = assertInvalidFields(await api.post("/api/people/1/notes", { content: blank }), [
          { in: "body", pointer: "/content" },
        ]);
        assert.equal(problem.detail, "body.content must not be blank");
        assertInvalidFields(await api.put("/api/people/1/notes/1", { content: blank }), [
          { in: "body", pointer: "/content" },
        ]);
      }
    });

    test("content of 10,000 characters is accepted, 10,001 is 400", async () => {
      const longest = "x".repeat(10_000);
      const created = await api.post("/api/people/1/notes", { content: longest });
      assert.equal(created.statusCode, 201);
      assert.equal(created.json<Note>().content, longest);
      assertInvalidFields(await api.post("/api/people/1/notes", { content: "x".repeat(10_001) }), [
        { in: "body", pointer: "/content" },
      ]);
      assertInvalidFields(await api.put("/api/people/1/notes/1", { content: "y".repeat(10_001) }), [
        { in: "body", pointer: "/content" },
      ]);
    });

    test("the limit applies to the content as stored: 10,000 characters inside surrounding whitespace are accepted", async () => {
      const person = await api.createSomeone();
      const longest = "x".repeat(10_000);
      const created = await api.post(`/api/people/${person.person_id}/notes`, { content: `  ${longest}\n` });
      assert.equal(created.statusCode, 201, created.body);
      const note = created.json<Note>();
      assert.equal(note.content, longest);
      const url = `/api/people/${person.person_id}/notes/${note.note_id}`;
      const updated = await api.put(url, { content: `\t${"y".repeat(10_000)} ` });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json<Note>().content, "y".repeat(10_000));
      assertInvalidFields(
        await api.post(`/api/people/${person.person_id}/notes`, { content: ` ${"x".repeat(10_001)} ` }),
        [{ in: "body", pointer: "/content" }],
      );
      assertInvalidFields(await api.put(url, { content: ` ${"z".repeat(10_001)} ` }), [
        { in: "body", pointer: "/content" },
      ]);
      assert.equal((await api.get(url)).json<Note>().content, "y".repeat(10_000), "a refused update changes nothing");
    });

    test("the longest note, 10,000 emoji, is accepted as sent and with every character escaped", async () => {
      const person = await api.createSomeone();
      const longest = "\u{1F600}".repeat(10_000);
      const plain = JSON.stringify({ content: longest });
      assert.equal(Buffer.byteLength(plain), 40_014);
      const created = await api.post(`/api/people/${person.person_id}/notes`, plain);
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json<Note>().content, longest);
      // The longest legal body: each emoji as two escaped UTF-16 units, 12 bytes.
      const escaped = `{"content":"${"\\ud83d\\ude00".repeat(10_000)}"}`;
      assert.equal(Buffer.byteLength(escaped), 120_014);
      const url = `/api/people/${person.person_id}/notes/${created.json<Note>().note_id}`;
      const updated = await api.put(url, escaped);
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json<Note>().content, longest);
    });

    test("content with a NUL character is 400 on both create and update", async () => {
      assertInvalidFields(await api.post("/api/people/1/notes", { content: "before\u0000after" }), [
        { in: "body", pointer: "/content" },
      ]);
      assertInvalidFields(await api.put("/api/people/1/notes/1", { content: "\u0000" }), [
        { in: "body", pointer: "/content" },
      ]);
    });

    test("content with an unpaired surrogate is 400", async () => {
      assertInvalidFields(await api.post("/api/people/1/notes", { content: "half a pair \udc00" }), [
        { in: "body", pointer: "/content" },
      ]);
    });

    test("content is stored as text, never interpreted", async () => {
      const content = `<img src=x onerror=alert(1)> http://169.254.169.254/ '; drop table note; -- ✓ 😀`;
      const note = await api.createNote(2, content);
      assert.equal((await api.get(`/api/people/2/notes/${note.note_id}`)).json<Note>().content, content);
    });
  });
}
