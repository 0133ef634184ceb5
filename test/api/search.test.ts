import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import type { components } from "../../openapi/types.js";
import { type Api, engines, type Person, useApp } from "../support/app.js";
import { assertInvalidFields, assertProblem } from "../support/assertions.js";
import { propertyParameters } from "../support/property.js";

type ListedNote = components["schemas"]["ListedNote"];

const INVALID_CURSOR = "The cursor is not valid: copy it from the next link of a previous page";
const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString("base64url");
const search = (q: string, extra = "") => `/api/notes?q=${encodeURIComponent(q)}${extra}`;

/** The next link's URL, or undefined on the last page. */
function nextLink(response: LightMyRequestResponse): string | undefined {
  const link = response.headers.link;
  if (link === undefined) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(String(link));
  assert.ok(match, `a next link: ${link}`);
  return match[1];
}

/** Every page of a list, following its next links; checks X-Total-Count on each page. */
async function allPages<T>(api: Api, url: string): Promise<{ items: T[]; links: string[] }> {
  const items: T[] = [];
  const links: string[] = [];
  let next: string | undefined = url;
  let total: number | undefined;
  while (next !== undefined) {
    const response = await api.get(next);
    assert.equal(response.statusCode, 200, response.body);
    const count = Number(response.headers["x-total-count"]);
    total ??= count;
    assert.equal(count, total);
    items.push(...response.json<T[]>());
    next = nextLink(response);
    if (next !== undefined) links.push(next);
  }
  assert.equal(items.length, total);
  return { items, links };
}

/** The text each highlight marks. */
const marked = (note: ListedNote) =>
  (note.highlights ?? []).map((h) => {
    const text = h.field === "content" ? note.content : h.field === "fname" ? note.person.fname : note.person.lname;
    return `${h.field}:${text.slice(h.start, h.end)}`;
  });

for (const engine of engines()) {
  describe(`search (${engine})`, () => {
    const api = useApp(engine);
    let writer: Person;
    let ids: Record<string, number>;

    test("setup: notes to find", async () => {
      writer = await api.createPerson("Marge", "Bouvier");
      ids = {};
      const notes = {
        houses: "Two houses by the water, running quickly",
        house: "A house? A HOUSE! Café crème for everyone",
        mouse: "The mouse ran into the office",
        marge: "Nothing about the others here",
      };
      for (const [name, content] of Object.entries(notes))
        ids[name] = (await api.createNote(writer.person_id, content)).note_id;
    });

    const found = async (q: string) => {
      const response = await api.get(search(q));
      assert.equal(response.statusCode, 200, response.body);
      return response.json<ListedNote[]>();
    };
    const foundIds = async (q: string) => (await found(q)).map((note) => note.note_id).sort((a, b) => a - b);
    const idsOf = (...names: string[]) => names.map((name) => ids[name] as number).sort((a, b) => a - b);

    test("English stemming: a word finds its other forms", async () => {
      assert.deepEqual(await foundIds("house"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("HOUSES"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("run"), idsOf("houses"));
      assert.deepEqual(await foundIds("runs"), idsOf("houses"));
      assert.deepEqual(await foundIds("cafe"), idsOf("house"));
    });

    test("every word must match, in the content or the author's names", async () => {
      assert.deepEqual(await foundIds("house water"), idsOf("houses"));
      assert.deepEqual(await foundIds("bouvier nothing"), idsOf("marge"));
      assert.deepEqual(await foundIds("marge"), idsOf("houses", "house", "mouse", "marge"));
      assert.deepEqual(await foundIds("house zebra"), []);
      // The tutorial's notes by Doug Farrell are found by his name.
      const doug = await found("Farrell");
      assert.ok(doug.length > 0);
      for (const note of doug) assert.equal(note.person.lname, "Farrell");
    });

    test("the last word also finds the words it begins, from two characters on", async () => {
      assert.deepEqual(await foundIds("hous"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("offi"), idsOf("mouse"));
      assert.deepEqual(await foundIds("water ru"), idsOf("houses"));
      assert.deepEqual(await foundIds("bouv"), idsOf("houses", "house", "mouse", "marge"));
      // A single letter is a word of its own: only "A" matches "a".
      assert.deepEqual(await foundIds("house a"), idsOf("house"));
      // An earlier word is never a prefix.
      assert.deepEqual(await foundIds("wat house"), []);
      // A whole word typed still finds the longer words it begins, and only those.
      const gardener = await api.createPerson("Percy", "Thrower");
      const garden = await api.createNote(gardener.person_id, "My garden in spring");
      const gardenia = await api.createNote(gardener.person_id, "A gardenia in bloom");
      assert.deepEqual(await foundIds("garden"), [garden.note_id, gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenia"), [gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenias"), [gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenx"), []);
      assert.deepEqual(await foundIds("spring gard"), [garden.note_id]);
    });

    test("highlights are ranges of the matched words, in every field", async () => {
      const [house] = (await found("house cafe")).filter((note) => note.note_id === ids.house);
      assert.ok(house);
      assert.deepEqual(marked(house), ["content:house", "content:HOUSE", "content:Café"]);
      const [mouse] = (await found("marge offi")).filter((note) => note.note_id === ids.mouse);
      assert.ok(mouse);
      assert.deepEqual(marked(mouse), ["content:office", "fname:Marge"]);
      // The plain list has no highlights.
      const list = await api.get("/api/notes?limit=2");
      for (const note of list.json<ListedNote[]>()) assert.equal(note.highlights, undefined);
    });

    test("search syntax in the text is only punctuation: never a 500, never an operator", async () => {
      for (const q of [
        '"house',
        'house"',
        "house AND water",
        "house OR zebra",
        "NEAR(house water)",
        "house*",
        "^house",
        "content:house",
        "author:marge house",
        "-house",
        "house & !water | (",
        "hous:*",
        "'house'",
        "\\house",
      ]) {
        const response = await api.get(search(q));
        assert.equal(response.statusCode, 200, `${q}: ${response.body}`);
      }
      // OR is a word like any other: no note holds both "house" and "or".
      assert.deepEqual(await foundIds("house OR water"), []);
      assert.deepEqual(await foundIds("content:house"), []);
      assert.deepEqual(await foundIds('"house'), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("house*"), idsOf("houses", "house"));
    });

    test("text without letters or digits finds nothing", async () => {
      for (const q of ['"', "***", " ", "()", "-"]) {
        const response = await api.get(search(q));
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(response.json(), []);
        assert.equal(response.headers["x-total-count"], "0");
        assert.equal(response.headers.link, undefined);
      }
    });

    test("too long, empty or NUL text is a 400 from the contract", async () => {
      assertInvalidFields(await api.get(search("house ".repeat(1700))), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get(search("x".repeat(201))), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get("/api/notes?q="), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get("/api/notes?q=house%00"), [{ in: "query", pointer: "/q" }]);
      assert.equal((await api.get(search("x".repeat(200)))).statusCode, 200);
    });

    test("pages of a search: ranked, each match once, the next link keeps q", async () => {
      const many = await api.createPerson("Paging", "Searcher");
      for (let i = 0; i < 7; i++) {
        await api.createNote(many.person_id, `${"lighthouse ".repeat(1 + (i % 3))}keeper number ${i}`);
      }
      const { items, links } = await allPages<ListedNote>(api, search("lighthouse", "&limit=2"));
      assert.equal(items.length, 7);
      assert.equal(new Set(items.map((note) => note.note_id)).size, 7);
      assert.equal(links.length, 3);
      for (const link of links) {
        const query = new URL(link, "http://x").searchParams;
        assert.equal(query.get("q"), "lighthouse");
        assert.equal(query.get("limit"), "2");
      }
      // Best first: the notes saying it three times, then twice, then once (short notes rank higher).
      const repeats = items.map((note) => note.content.split("lighthouse").length - 1);
      assert.deepEqual(
        repeats,
        [...repeats].sort((a, b) => b - a),
      );
    });

    test("forged search cursors are a 400 before any query runs", async () => {
      const forged = [
        [100, 1, -1, 5],
        [100, 1, "1", 5],
        [100, 1, 1e10, 5],
        [100, 1, null, 5],
        [1, 100, 1, 5],
        [100, 10, 1, 5],
        [100, 10, 1, 200],
        [2 ** 53, 1, 1, 5],
        [100, 0, 1, 5],
        [100, 1, 1],
        ["2020-01-01T00:00:00.000Z", 1],
      ];
      for (const key of forged) {
        assertProblem(await api.get(search("house", `&cursor=${cursor(key)}`)), 400, INVALID_CURSOR);
      }
      // A search's cursor does not continue the plain list, nor the plain list's a search.
      assertProblem(await api.get(`/api/notes?cursor=${cursor([100, 1, 1, 5])}`), 400, INVALID_CURSOR);
      const plain = await api.get("/api/notes?limit=1");
      const plainNext = new URL(nextLink(plain) as string, "http://x").searchParams.get("cursor") as string;
      assertProblem(await api.get(search("house", `&cursor=${plainNext}`)), 400, INVALID_CURSOR);
    });

    test("the index follows every change: edits, renames, deletions", async () => {
      const person = await api.createPerson("Ziggy", "Stardust");
      const note = await api.createNote(person.person_id, "Spiders from Mars");
      assert.deepEqual(await foundIds("spiders"), [note.note_id]);
      assert.deepEqual(await foundIds("ziggy"), [note.note_id]);

      await api.put(`/api/people/${person.person_id}/notes/${note.note_id}`, { content: "Starman waiting" });
      assert.deepEqual(await foundIds("spiders"), []);
      assert.deepEqual(await foundIds("starman"), [note.note_id]);

      await api.put(`/api/people/${person.person_id}`, { fname: "Aladdin", lname: "Sane" });
      assert.deepEqual(await foundIds("ziggy"), []);
      assert.deepEqual(await foundIds("aladdin starman"), [note.note_id]);

      const second = await api.createNote(person.person_id, "Starman again");
      assert.equal((await api.delete(`/api/people/${person.person_id}/notes/${note.note_id}`)).statusCode, 204);
      assert.deepEqual(await foundIds("starman"), [second.note_id]);

      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      assert.deepEqual(await foundIds("starman"), []);
      assert.deepEqual(await foundIds("aladdin"), []);
    });

    test("any text is a 200 or a 400 from validation, never a 500", async (t) => {
      const syntax = fc.constantFrom(
        '"',
        "*",
        "^",
        ":",
        "(",
        ")",
        "-",
        "+",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "&",
        "|",
        "!",
        "'",
        "\\",
        "%",
        "_",
        " ",
      );
      const text = fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc
          .array(fc.oneof(syntax, fc.constantFrom("house", "marge", "hou", "a", "é")), { maxLength: 12 })
          .map((parts) => parts.join("")),
        fc.string({ maxLength: 300 }),
        // Characters PostgreSQL's parser does not know as letters (a mark alone, a new ideograph, private use).
        fc.constant("\u0300\u{3347A}\u{F0000}"),
      );
      await fc.assert(
        fc.asyncProperty(text, async (q) => {
          for (const path of ["/api/notes", "/api/people"]) {
            const response = await api.get(`${path}?q=${encodeURIComponent(q)}&limit=3`);
            assert.ok(
              response.statusCode === 200 || response.statusCode === 400,
              `${path} q=${JSON.stringify(q)}: ${response.statusCode} ${response.body}`,
            );
            if (response.statusCode === 200) {
              const next = nextLink(response);
              if (next !== undefined) assert.equal((await api.get(next)).statusCode, 200);
            }
          }
        }),
        propertyParameters(t, 60),
      );
    });
  });

  describe(`people by name prefix (${engine})`, () => {
    const api = useApp(engine);

    const names = async (q: string, extra = "") => {
      const response = await api.get(`/api/people?q=${encodeURIComponent(q)}${extra}`);
      assert.equal(response.statusCode, 200, response.body);
      return response.json<Person[]>().map((person) => `${person.fname} ${person.lname}`);
    };

    test("first or last name, regardless of case and spacing, in list order", async () => {
      for (const [fname, lname] of [
        ["Dana", "Scully"],
        ["Fox", "Mulder"],
        ["Walter", "Skinner"],
        ["Sam", "Dawson"],
        ["100%", "Real"],
        ["Under_score", "Name"],
      ]) {
        await api.createPerson(fname as string, lname as string);
      }
      assert.deepEqual(await names("s"), ["Sam Dawson", "Dana Scully", "Walter Skinner"]);
      assert.deepEqual(await names("SK"), ["Walter Skinner"]);
      assert.deepEqual(await names("da"), ["Sam Dawson", "Dana Scully"]);
      assert.deepEqual(await names("doug"), ["Doug Farrell"]);
      assert.deepEqual(await names("mulder fox"), []);
      assert.deepEqual(await names("zzz"), []);
    });

    test("% and _ are letters, not patterns", async () => {
      assert.deepEqual(await names("%"), []);
      assert.deepEqual(await names("_"), []);
      assert.deepEqual(await names("100%"), ["100% Real"]);
      assert.deepEqual(await names("under_"), ["Under_score Name"]);
      assert.deepEqual(await names("under%"), []);
      assert.deepEqual(await names("u_der"), []);
    });

    test("paged with the count of the matches, the next link keeps q", async () => {
      const { items, links } = await allPages<Person>(api, "/api/people?q=s&limit=1");
      assert.deepEqual(
        items.map((person) => person.lname),
        ["Dawson", "Scully", "Skinner"],
      );
      for (const link of links) assert.equal(new URL(link, "http://x").searchParams.get("q"), "s");
      assertInvalidFields(await api.get(`/api/people?q=${"s".repeat(201)}`), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get("/api/people?q=a%00"), [{ in: "query", pointer: "/q" }]);
    });
  });
}
