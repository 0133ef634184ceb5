import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engines, type Note, type Person, useApp } from "../support/app.js";
import { assertInvalidFields, assertProblem, assertUtcTimestamp } from "../support/assertions.js";

const A_LONG_TIME_AGO = "2000-01-01T00:00:00.000Z";

for (const engine of engines()) {
  describe(`seed data (${engine})`, () => {
    const api = useApp(engine);

    test("lists the tutorial's three people sorted by last name", async () => {
      const response = await api.get("/api/people");
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["x-total-count"], "3");
      assert.equal(response.headers.link, undefined);
      const people = response.json<Person[]>();
      assert.deepEqual(
        people.map((p) => [p.person_id, p.fname, p.lname]),
        [
          [2, "Kent", "Brockman"],
          [3, "Bunny", "Easter"],
          [1, "Doug", "Farrell"],
        ],
      );
      for (const person of people) assertUtcTimestamp(person.timestamp);
    });

    test("gives each person their notes, newest first, with the 2019 timestamps in UTC", async () => {
      const people = (await api.get("/api/people")).json<Person[]>();
      const notes = Object.fromEntries(people.map((p) => [p.lname, p.notes]));
      assert.deepEqual(notes, {
        Brockman: [
          {
            note_id: 5,
            person_id: 2,
            content: "Maybe they'll be more obvious than I thought",
            timestamp: "2019-02-06T22:17:54.000Z",
          },
          {
            note_id: 4,
            person_id: 2,
            content: "I'm going to make really profound observations",
            timestamp: "2019-01-07T22:17:54.000Z",
          },
        ],
        Easter: [
          {
            note_id: 7,
            person_id: 3,
            content: "I'm really late delivering these!",
            timestamp: "2019-04-06T22:17:54.000Z",
          },
          {
            note_id: 6,
            person_id: 3,
            content: "Has anyone seen my Easter eggs?",
            timestamp: "2019-01-07T22:47:54.000Z",
          },
        ],
        Farrell: [
          { note_id: 3, person_id: 1, content: "Well, sort of useful", timestamp: "2019-03-06T22:17:54.000Z" },
          { note_id: 2, person_id: 1, content: "This could be useful", timestamp: "2019-01-08T22:17:54.000Z" },
          {
            note_id: 1,
            person_id: 1,
            content: "Cool, a mini-blogging application!",
            timestamp: "2019-01-06T22:17:54.000Z",
          },
        ],
      });
    });

    test("lists all seven notes newest first, each with its author", async () => {
      const response = await api.get("/api/notes");
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["x-total-count"], "7");
      const notes = response.json<Note[]>();
      assert.deepEqual(
        notes.map((n) => n.note_id),
        [7, 3, 5, 2, 6, 4, 1],
      );
      const people = (await api.get("/api/people")).json<Person[]>();
      for (const note of notes) {
        const author = people.find((p) => p.person_id === note.person_id);
        assert.ok(author);
        const { notes: _notes, ...summary } = author;
        assert.deepEqual(note.person, summary);
      }
    });

    test("reads one person by id", async () => {
      const response = await api.get("/api/people/1");
      assert.equal(response.statusCode, 200);
      const person = response.json<Person>();
      assert.equal(person.fname, "Doug");
      assert.equal(person.lname, "Farrell");
      assert.deepEqual(
        person.notes.map((n) => n.note_id),
        [3, 2, 1],
      );
    });
  });

  describe(`people (${engine})`, () => {
    const api = useApp(engine);

    /** A person whose timestamp is far in the past, so any change to it shows whatever the clock says. */
    async function createLongAgo(): Promise<Person> {
      const person = await api.createSomeone();
      await api.store.db
        .updateTable("person")
        .set({ timestamp: A_LONG_TIME_AGO })
        .where("person_id", "=", person.person_id)
        .execute();
      return { ...person, timestamp: A_LONG_TIME_AGO };
    }

    test("reading a person who does not exist is 404", async () => {
      assertProblem(await api.get("/api/people/999"), 404, "Person not found for Id: 999");
    });

    test("create answers 201 with the person, no notes, and its Location", async () => {
      const response = await api.post("/api/people", { fname: "Homer", lname: "Simpson" });
      assert.equal(response.statusCode, 201);
      const person = response.json<Person>();
      assert.equal(person.fname, "Homer");
      assert.equal(person.lname, "Simpson");
      assert.deepEqual(person.notes, []);
      assertUtcTimestamp(person.timestamp);
      assert.ok(person.person_id > 3);
      assert.equal(response.headers.location, `/api/people/${person.person_id}`);
      const again = await api.get(String(response.headers.location));
      assert.deepEqual(again.json(), person);
    });

    test("create stores names without surrounding whitespace", async () => {
      const response = await api.post("/api/people", { fname: "  Marge ", lname: "\tBouvier\n" });
      assert.equal(response.statusCode, 201);
      const person = response.json<Person>();
      assert.equal(person.fname, "Marge");
      assert.equal(person.lname, "Bouvier");
      assert.equal((await api.get(`/api/people/${person.person_id}`)).json<Person>().lname, "Bouvier");
    });

    test("people read at once, some of them twice, each come back whole, and one missing is 404", async () => {
      const ids = [1, 2, 3, 2, 999, 1, 3, 3];
      const alone = new Map<number, unknown>();
      for (const id of new Set(ids)) alone.set(id, (await api.get(`/api/people/${id}`)).json());
      const together = await Promise.all(ids.map((id) => api.get(`/api/people/${id}`)));
      for (const [i, response] of together.entries()) {
        const id = ids[i] ?? 0;
        if (id === 999) assertProblem(response, 404, "Person not found for Id: 999");
        else {
          assert.equal(response.statusCode, 200);
          assert.deepEqual(response.json(), alone.get(id));
        }
      }
    });

    test("the list is sorted by last name, then first name, ignoring case", async () => {
      await api.createPerson("Apu", "Nahasapeemapetilon");
      await api.createPerson("Abe", "Nahasapeemapetilon");
      await api.createPerson("Ralph", "Wiggum");
      await api.createPerson("Kirk", "van Houten");
      const people = (await api.get("/api/people?limit=1000")).json<Person[]>();
      const keys = people.map((p) => [p.lname.toLowerCase(), p.fname.toLowerCase()].join("\u0000"));
      assert.deepEqual(keys, [...keys].sort());
      const names = people.map((p) => `${p.fname} ${p.lname}`);
      const before = (a: string, b: string) => assert.ok(names.indexOf(a) < names.indexOf(b), `${a} before ${b}`);
      before("Abe Nahasapeemapetilon", "Apu Nahasapeemapetilon");
      before("Kirk van Houten", "Ralph Wiggum");
      before("Kent Brockman", "Bunny Easter");
    });

    test("creating a person who exists already is 409 and adds no one", async () => {
      const before = (await api.get("/api/people")).headers["x-total-count"];
      assertProblem(
        await api.post("/api/people", { fname: "Doug", lname: "Farrell" }),
        409,
        "Doug Farrell already exists",
      );
      assert.equal((await api.get("/api/people")).headers["x-total-count"], before);
    });

    test("a name that differs only in case or spacing is the same person, named as stored", async () => {
      assertProblem(
        await api.post("/api/people", { fname: "doug", lname: "FARRELL" }),
        409,
        "Doug Farrell already exists",
      );
      assertProblem(
        await api.post("/api/people", { fname: " Kent ", lname: "Brockman  " }),
        409,
        "Kent Brockman already exists",
      );
      const spaced = await api.createPerson("Mary Ann", "Smith");
      assertProblem(
        await api.post("/api/people", { fname: "mary   ann", lname: "smith" }),
        409,
        "Mary Ann Smith already exists",
      );
      assert.equal(spaced.fname, "Mary Ann");
    });

    test("update changes the names and answers the person with their notes", async () => {
      const person = await api.createSomeone();
      const note = await api.createNote(person.person_id, "Still here");
      const response = await api.put(`/api/people/${person.person_id}`, { fname: "Changed", lname: "Name Here" });
      assert.equal(response.statusCode, 200);
      const updated = response.json<Person>();
      assert.equal(updated.person_id, person.person_id);
      assert.equal(updated.fname, "Changed");
      assert.equal(updated.lname, "Name Here");
      assert.deepEqual(
        updated.notes.map((n) => n.note_id),
        [note.note_id],
      );
      assert.deepEqual((await api.get(`/api/people/${person.person_id}`)).json(), updated);
    });

    test("update trims the names", async () => {
      const person = await api.createSomeone();
      const updated = (await api.put(`/api/people/${person.person_id}`, { fname: " Trim ", lname: " Me " })).json();
      assert.equal(updated.fname, "Trim");
      assert.equal(updated.lname, "Me");
    });

    test("a change of name gives a new timestamp", async () => {
      const person = await createLongAgo();
      const updated = (
        await api.put(`/api/people/${person.person_id}`, { fname: "Renamed", lname: person.lname })
      ).json<Person>();
      assertUtcTimestamp(updated.timestamp);
      assert.ok(updated.timestamp > A_LONG_TIME_AGO);
    });

    test("an update that changes nothing keeps the timestamp", async () => {
      const person = await createLongAgo();
      const response = await api.put(`/api/people/${person.person_id}`, {
        fname: ` ${person.fname}`,
        lname: person.lname,
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.json<Person>().timestamp, A_LONG_TIME_AGO);
    });

    test("updating a person who does not exist is 404", async () => {
      assertProblem(
        await api.put("/api/people/999", { fname: "No", lname: "One" }),
        404,
        "Person not found for Id: 999",
      );
    });

    test("taking another person's name is 409 and changes nothing", async () => {
      const person = await api.createSomeone();
      assertProblem(
        await api.put(`/api/people/${person.person_id}`, { fname: "kent", lname: "brockman" }),
        409,
        "Kent Brockman already exists",
      );
      assert.deepEqual((await api.get(`/api/people/${person.person_id}`)).json(), person);
    });

    test("a person may keep their own name, or change its case", async () => {
      const person = await api.createPerson("Lisa", "Simpson");
      const same = await api.put(`/api/people/${person.person_id}`, { fname: "Lisa", lname: "Simpson" });
      assert.equal(same.statusCode, 200);
      const recased = await api.put(`/api/people/${person.person_id}`, { fname: "LISA", lname: "simpson" });
      assert.equal(recased.statusCode, 200);
      assert.equal(recased.json<Person>().fname, "LISA");
    });

    test("delete answers 204 with no body, and the person is gone", async () => {
      const person = await api.createSomeone();
      const response = await api.delete(`/api/people/${person.person_id}`);
      assert.equal(response.statusCode, 204);
      assert.equal(response.body, "");
      assertProblem(
        await api.get(`/api/people/${person.person_id}`),
        404,
        `Person not found for Id: ${person.person_id}`,
      );
      assertProblem(await api.delete(`/api/people/${person.person_id}`), 404);
    });

    test("deleting a person deletes their notes", async () => {
      const person = await api.createSomeone();
      const first = await api.createNote(person.person_id, "First words");
      const second = await api.createNote(person.person_id, "Last words");
      const before = Number((await api.get("/api/notes")).headers["x-total-count"]);
      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      const after = await api.get("/api/notes?limit=1000");
      assert.equal(Number(after.headers["x-total-count"]), before - 2);
      const ids = after.json<Note[]>().map((n) => n.note_id);
      assert.ok(!ids.includes(first.note_id) && !ids.includes(second.note_id));
      assertProblem(await api.get(`/api/people/${person.person_id}/notes/${first.note_id}`), 404);
      assertProblem(await api.get(`/api/people/${person.person_id}/notes`), 404);
    });

    test("deleting a person who does not exist is 404", async () => {
      assertProblem(await api.delete("/api/people/999"), 404, "Person not found for Id: 999");
    });
  });

  describe(`person bodies (${engine})`, () => {
    const api = useApp(engine);

    test("fields the server owns are ignored on create", async () => {
      const response = await api.post("/api/people", {
        fname: "Waylon",
        lname: "Smithers",
        person_id: 1,
        timestamp: "1999-01-01T00:00:00Z",
        notes: [{ note_id: 1, content: "stolen" }],
      });
      assert.equal(response.statusCode, 201);
      const person = response.json<Person>();
      assert.notEqual(person.person_id, 1);
      assert.notEqual(person.timestamp, "1999-01-01T00:00:00.000Z");
      assert.deepEqual(person.notes, []);
      const doug = (await api.get("/api/people/1")).json<Person>();
      assert.equal(doug.fname, "Doug");
      assert.equal(doug.notes.length, 3);
    });

    test("fields the server owns are ignored on update: the URL says who changes", async () => {
      const person = await api.createSomeone();
      const kent = (await api.get("/api/people/2")).json<Person>();
      const response = await api.put(`/api/people/${person.person_id}`, {
        person_id: 2,
        fname: "Moved",
        lname: person.lname,
        timestamp: A_LONG_TIME_AGO,
        notes: [],
      });
      assert.equal(response.statusCode, 200);
      const updated = response.json<Person>();
      assert.equal(updated.person_id, person.person_id);
      assert.equal(updated.fname, "Moved");
      assert.notEqual(updated.timestamp, A_LONG_TIME_AGO);
      assert.deepEqual((await api.get("/api/people/2")).json(), kent);
    });

    test("an unknown field is 400 and names the field", async () => {
      const response = await api.post("/api/people", { fname: "Otto", lname: "Mann", nickname: "Otto-man" });
      assertInvalidFields(response, [{ in: "body", pointer: "/nickname" }]);
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug", lname: "Farrell", admin: true }), [
        { in: "body", pointer: "/admin" },
      ]);
    });

    test("missing names are 400, each listed", async () => {
      assertInvalidFields(await api.post("/api/people", {}), [
        { in: "body", pointer: "/fname" },
        { in: "body", pointer: "/lname" },
      ]);
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug" }), [{ in: "body", pointer: "/lname" }]);
    });

    test("names are never coerced from other types", async () => {
      for (const value of [5, true, null, ["Doug"], { first: "Doug" }]) {
        assertInvalidFields(await api.post("/api/people", { fname: value, lname: "Typed" }), [
          { in: "body", pointer: "/fname" },
        ]);
      }
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug", lname: 5 }), [
        { in: "body", pointer: "/lname" },
      ]);
    });

    test("blank and whitespace-only names are 400", async () => {
      for (const blank of ["", " ", "   ", "\t\n"]) {
        const problem = assertInvalidFields(await api.post("/api/people", { fname: blank, lname: blank }), [
          { in: "body", pointer: "/fname" },
          { in: "body", pointer: "/lname" },
        ]);
        assert.equal(problem.detail, "body.fname must not be blank; body.lname must not be blank");
      }
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug", lname: " " }), [
        { in: "body", pointer: "/lname" },
      ]);
    });

    test("names of 32 characters are accepted, 33 are 400", async () => {
      const fname = "F".repeat(32);
      const lname = "L".repeat(32);
      const response = await api.post("/api/people", { fname, lname });
      assert.equal(response.statusCode, 201);
      assert.equal(response.json<Person>().fname, fname);
      assertInvalidFields(await api.post("/api/people", { fname: "F".repeat(33), lname: "Long" }), [
        { in: "body", pointer: "/fname" },
      ]);
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug", lname: "L".repeat(33) }), [
        { in: "body", pointer: "/lname" },
      ]);
    });

    test("the limit applies to names as stored: 32 characters inside surrounding whitespace are accepted", async () => {
      const fname = "G".repeat(32);
      const lname = `Padded ${"M".repeat(25)}`;
      const created = await api.post("/api/people", { fname: ` ${fname}  `, lname: `\t${lname}\n` });
      assert.equal(created.statusCode, 201, created.body);
      const person = created.json<Person>();
      assert.deepEqual([person.fname, person.lname], [fname, lname]);
      const url = `/api/people/${person.person_id}`;
      const renamed = `Renamed ${"R".repeat(24)}`;
      const updated = await api.put(url, { fname: `  ${renamed} `, lname });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json<Person>().fname, renamed);
      assertInvalidFields(await api.post("/api/people", { fname: ` ${"F".repeat(33)} `, lname: "Long" }), [
        { in: "body", pointer: "/fname" },
      ]);
      assertInvalidFields(await api.put(url, { fname: renamed, lname: ` ${"L".repeat(33)} ` }), [
        { in: "body", pointer: "/lname" },
      ]);
      assert.equal((await api.get(url)).json<Person>().lname, lname, "a refused update changes nothing");
    });

    test("names with a NUL character are 400", async () => {
      assertInvalidFields(await api.post("/api/people", { fname: "Nul\u0000l", lname: "Byte" }), [
        { in: "body", pointer: "/fname" },
      ]);
      assertInvalidFields(await api.put("/api/people/1", { fname: "Doug", lname: "\u0000" }), [
        { in: "body", pointer: "/lname" },
      ]);
    });

    test("names with an unpaired surrogate are 400, paired ones are kept", async () => {
      assertInvalidFields(await api.post("/api/people", { fname: "Lone\ud800", lname: "Surrogate" }), [
        { in: "body", pointer: "/fname" },
      ]);
      const response = await api.post("/api/people", { fname: "Emoji 😀", lname: "Pair" });
      assert.equal(response.statusCode, 201);
      assert.equal(response.json<Person>().fname, "Emoji 😀");
    });

    test("a body that is not an object is 400", async () => {
      for (const body of ["[]", '"Doug Farrell"', "null", "5"]) {
        assertProblem(await api.post("/api/people", body), 400);
      }
    });

    test("rejected bodies store nothing", async () => {
      for (const body of [
        { fname: 5, lname: "Typed" },
        { fname: "Nul\u0000l", lname: "Byte" },
        { fname: "F".repeat(33), lname: "Long" },
        { fname: "Otto", lname: "Mann", nickname: "Otto-man" },
      ]) {
        assertProblem(await api.post("/api/people", body), 400);
      }
      const someone = await api.createSomeone();
      const url = `/api/people/${someone.person_id}`;
      for (const body of [
        { fname: "Changed", lname: 5 },
        { fname: "Changed", lname: "\u0000" },
        { fname: "Changed", lname: "L".repeat(33) },
        { fname: "Changed", lname: someone.lname, admin: true },
      ]) {
        assertProblem(await api.put(url, body), 400);
      }
      assert.deepEqual((await api.get(url)).json(), someone);
      const response = await api.get("/api/people?limit=1000");
      const names = response.json<Person[]>().map((p) => p.lname);
      for (const name of ["Typed", "Byte", "Long", "Mann"]) assert.ok(!names.includes(name), name);
    });
  });
}
