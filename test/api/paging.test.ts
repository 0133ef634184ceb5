import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { DEFAULT_LIMIT, EMBEDDED_NOTES, MAX_LIMIT } from "../../src/domain/paging.js";
import { type Api, engines, insertNotes, insertPeople, type Note, type Person, useApp } from "../support/app.js";
import { assertInvalidFields } from "../support/assertions.js";
import { spec } from "../support/contract.js";

const WRITER_NOTES = 150;
const EXTRA_PEOPLE = 120;
const LINK = /^<([^>]+)>; rel="next"$/;

test("the contract documents the limits the service applies", () => {
  const components = spec.components as {
    parameters: { limit: { schema: { default: number; maximum: number } } };
    schemas: { Person: { properties: { notes: { maxItems: number } } } };
  };
  assert.equal(components.parameters.limit.schema.default, DEFAULT_LIMIT);
  assert.equal(components.parameters.limit.schema.maximum, MAX_LIMIT);
  assert.equal(components.schemas.Person.properties.notes.maxItems, EMBEDDED_NOTES);
});

/** Three notes share each second, so page boundaries fall inside runs of equal timestamps. */
function timestamps(count: number): string[] {
  return Array.from({ length: count }, (_, i) => new Date(Date.UTC(2020, 0, 1, 0, 0, Math.floor(i / 3))).toISOString());
}

function nextLink(response: { headers: Record<string, unknown> }): string | undefined {
  const link = response.headers.link;
  if (link === undefined) return undefined;
  const match = LINK.exec(String(link));
  assert.ok(match, `Link header ${String(link)}`);
  return match[1];
}

/** Follows the next links from `url` to the end; returns every item and the number of pages. */
async function walk<T>(api: Api, url: string): Promise<{ items: T[]; pages: number; totals: Set<string> }> {
  const items: T[] = [];
  const totals = new Set<string>();
  let pages = 0;
  for (let next: string | undefined = url; next !== undefined; ) {
    const response = await api.get(next);
    assert.equal(response.statusCode, 200, response.body);
    items.push(...response.json<T[]>());
    totals.add(String(response.headers["x-total-count"]));
    pages += 1;
    next = nextLink(response);
    assert.ok(pages < 1000, "the walk ends");
  }
  return { items, pages, totals };
}

for (const engine of engines()) {
  describe(`paging (${engine})`, () => {
    const api = useApp(engine);
    let writer: Person;
    const totalNotes = 7 + WRITER_NOTES;
    const totalPeople = 3 + 1 + EXTRA_PEOPLE;

    before(async () => {
      writer = await api.createPerson("Prolific", "Writer");
      await insertNotes(api.store, writer.person_id, timestamps(WRITER_NOTES));
      await insertPeople(
        api.store,
        Array.from({ length: EXTRA_PEOPLE }, (_, i) => [
          `First${i % 7}`,
          `Last${String(Math.floor(i / 2)).padStart(3, "0")}`,
        ]),
      );
    });

    test(`lists default to ${DEFAULT_LIMIT} items, with a next link and the total`, async () => {
      const response = await api.get("/api/notes");
      const notes = response.json<Note[]>();
      assert.ok(Array.isArray(notes));
      assert.equal(notes.length, DEFAULT_LIMIT);
      assert.equal(response.headers["x-total-count"], String(totalNotes));
      assert.match(
        String(nextLink(response)),
        new RegExp(`^/api/notes\\?limit=${DEFAULT_LIMIT}&cursor=[A-Za-z0-9_-]+$`),
      );
      const people = await api.get("/api/people");
      assert.equal(people.json<Person[]>().length, DEFAULT_LIMIT);
      assert.equal(people.headers["x-total-count"], String(totalPeople));
      const own = await api.get(`/api/people/${writer.person_id}/notes`);
      assert.equal(own.json<Note[]>().length, DEFAULT_LIMIT);
      assert.equal(own.headers["x-total-count"], String(WRITER_NOTES));
    });

    test(`a limit of ${MAX_LIMIT} is allowed and the last page has no next link`, async () => {
      const response = await api.get(`/api/notes?limit=${MAX_LIMIT}`);
      assert.equal(response.json<Note[]>().length, totalNotes);
      assert.equal(response.headers.link, undefined);
      assert.equal(response.headers["x-total-count"], String(totalNotes));
    });

    test("a page exactly as long as the list has no next link", async () => {
      const response = await api.get(`/api/notes?limit=${totalNotes}`);
      assert.equal(response.json<Note[]>().length, totalNotes);
      assert.equal(response.headers.link, undefined);
    });

    test("an invalid limit is 400 on every list", async () => {
      for (const url of ["/api/notes", "/api/people", `/api/people/${writer.person_id}/notes`]) {
        for (const limit of ["0", "-1", String(MAX_LIMIT + 1), "abc", "1.5", "", "1e2", "010"]) {
          assertInvalidFields(await api.get(`${url}?limit=${limit}`), [{ in: "query", pointer: "/limit" }]);
        }
      }
    });

    test("following the next links gives every note exactly once, in order", async () => {
      const all = (await api.get(`/api/notes?limit=${MAX_LIMIT}`)).json<Note[]>();
      const { items, pages, totals } = await walk<Note>(api, "/api/notes?limit=7");
      assert.deepEqual(
        items.map((n) => n.note_id),
        all.map((n) => n.note_id),
      );
      assert.equal(new Set(items.map((n) => n.note_id)).size, totalNotes);
      assert.equal(pages, Math.ceil(totalNotes / 7));
      assert.deepEqual([...totals], [String(totalNotes)]);
      for (let i = 1; i < items.length; i++) {
        const [a, b] = [items[i - 1] as Note, items[i] as Note];
        assert.ok(a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.note_id > b.note_id), "newest first");
      }
    });

    test("following the next links gives every note of a person exactly once, in order", async () => {
      const url = `/api/people/${writer.person_id}/notes`;
      const all = (await api.get(`${url}?limit=${MAX_LIMIT}`)).json<Note[]>();
      assert.equal(all.length, WRITER_NOTES);
      const { items } = await walk<Note>(api, `${url}?limit=4`);
      assert.deepEqual(
        items.map((n) => n.note_id),
        all.map((n) => n.note_id),
      );
      assert.ok(items.every((n) => n.person_id === writer.person_id));
    });

    test("following the next links gives every person exactly once, in order", async () => {
      const all = (await api.get(`/api/people?limit=${MAX_LIMIT}`)).json<Person[]>();
      assert.equal(all.length, totalPeople);
      const { items, pages } = await walk<Person>(api, "/api/people?limit=9");
      assert.deepEqual(
        items.map((p) => p.person_id),
        all.map((p) => p.person_id),
      );
      assert.equal(pages, Math.ceil(totalPeople / 9));
      const keys = items.map((p) => [p.lname.toLowerCase(), p.fname.toLowerCase(), p.person_id] as const);
      for (let i = 1; i < keys.length; i++) {
        const [a, b] = [keys[i - 1], keys[i]] as [(typeof keys)[number], (typeof keys)[number]];
        assert.ok(a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2]))), "name order");
      }
    });

    test("a note written during a walk does not shift the pages after it", async () => {
      const all = (await api.get(`/api/notes?limit=${MAX_LIMIT}`)).json<Note[]>();
      const first = await api.get("/api/notes?limit=10");
      const added = await api.createNote(writer.person_id, "Written while someone pages");
      // The other tests count the writer's notes: the added one goes, whatever happens here.
      let deleted: number | undefined;
      try {
        const rest = await walk<Note>(api, String(nextLink(first)));
        assert.deepEqual(
          [...first.json<Note[]>(), ...rest.items].map((n) => n.note_id),
          all.map((n) => n.note_id),
        );
      } finally {
        deleted = (await api.delete(`/api/people/${writer.person_id}/notes/${added.note_id}`)).statusCode;
      }
      assert.equal(deleted, 204);
    });

    test("a cursor the service did not issue is 400", async () => {
      const notesCursor = new URL(String(nextLink(await api.get("/api/notes?limit=1"))), "http://x").searchParams.get(
        "cursor",
      );
      const forged = [
        "garbage",
        "!!!",
        "",
        "a".repeat(8193),
        Buffer.from("not json").toString("base64url"),
        Buffer.from('["2020-01-01T00:00:00.000Z"]').toString("base64url"),
        Buffer.from('["2020-01-01T00:00:00.000Z", 1.5]').toString("base64url"),
        Buffer.from('{"timestamp":"x","note_id":1}').toString("base64url"),
      ];
      for (const cursor of forged) {
        assertInvalidFields(await api.get(`/api/notes?cursor=${encodeURIComponent(cursor)}`), [
          { in: "query", pointer: "/cursor" },
        ]);
      }
      assertInvalidFields(await api.get(`/api/people?cursor=${notesCursor}`), [{ in: "query", pointer: "/cursor" }]);
      assertInvalidFields(await api.get(`/api/people/${writer.person_id}/notes?cursor=garbage`), [
        { in: "query", pointer: "/cursor" },
      ]);
    });

    test(`a person embeds only their ${EMBEDDED_NOTES} newest notes`, async () => {
      const newest = (await api.get(`/api/people/${writer.person_id}/notes?limit=${EMBEDDED_NOTES}`)).json<Note[]>();
      const expected = newest.map(({ person: _person, ...note }) => note);
      const person = (await api.get(`/api/people/${writer.person_id}`)).json<Person>();
      assert.equal(person.notes.length, EMBEDDED_NOTES);
      assert.deepEqual(person.notes, expected);
      const listed = (await api.get(`/api/people?limit=${MAX_LIMIT}`))
        .json<Person[]>()
        .find((p) => p.person_id === writer.person_id);
      assert.deepEqual(listed?.notes, expected);
      const doug = (await api.get("/api/people/1")).json<Person>();
      assert.equal(doug.notes.length, 3);
    });
  });

  describe(`paging past long names (${engine})`, () => {
    const api = useApp(engine);

    test("the next link after a person with the longest non-ASCII names still works", async () => {
      // U+FDFA is one character that normalizes to eighteen, so its sort key is as long as a key gets.
      const longest = await api.createPerson("\uFDFA".repeat(32), "\uFDFA".repeat(32));
      await api.createPerson("\u{1F600}".repeat(32), "\u{1F600}".repeat(32));
      const all = (await api.get(`/api/people?limit=${MAX_LIMIT}`)).json<Person[]>();
      const position = all.findIndex((p) => p.person_id === longest.person_id);
      assert.ok(position >= 0 && position < all.length - 1, "the longest name is not last");
      const page = await api.get(`/api/people?limit=${position + 1}`);
      const rest = await walk<Person>(api, String(nextLink(page)));
      assert.deepEqual(
        [...page.json<Person[]>(), ...rest.items].map((p) => p.person_id),
        all.map((p) => p.person_id),
      );
    });
  });
}
