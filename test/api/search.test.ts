import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import type { components } from "../../openapi/types.js";
import { Api, type Engine, engines, type Person, startApp } from "../support/app.js";
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

/**
 * A test with an app of its own: a new database with the tutorial's data, removed afterwards, so
 * that no test sees another's notes.
 */
function testWithApp(engine: Engine, name: string, body: (api: Api, t: TestContext) => Promise<void>) {
  test(name, async (t) => {
    const api = new Api(engine);
    api.started = await startApp({ engine });
    try {
      await body(api, t);
    } finally {
      await api.current.close();
    }
  });
}

/** What a search finds: the notes, their ids in order of id, and the contents of the notes. */
function searcher(api: Api) {
  const found = async (q: string) => {
    const response = await api.get(search(q));
    assert.equal(response.statusCode, 200, response.body);
    return response.json<ListedNote[]>();
  };
  return {
    found,
    foundIds: async (q: string) => (await found(q)).map((note) => note.note_id).sort((a, b) => a - b),
    foundContents: async (q: string) => (await found(q)).map((note) => note.content).sort(),
  };
}

/** Marge Bouvier's four notes, by name. */
async function margesNotes(api: Api) {
  const writer = await api.createPerson("Marge", "Bouvier");
  const notes = {
    houses: "Two houses by the water, running quickly",
    house: "A house? A HOUSE! Café crème for everyone",
    mouse: "The mouse ran into the office",
    marge: "Nothing about the others here",
  };
  const ids: Record<string, number> = {};
  for (const [name, content] of Object.entries(notes)) {
    ids[name] = (await api.createNote(writer.person_id, content)).note_id;
  }
  return {
    writer,
    ids,
    idsOf: (...names: (keyof typeof notes)[]) => names.map((name) => ids[name] as number).sort((a, b) => a - b),
  };
}

for (const engine of engines()) {
  describe(`search (${engine})`, () => {
    testWithApp(engine, "English stemming: a word finds its other forms", async (api) => {
      const { foundIds } = searcher(api);
      const { idsOf } = await margesNotes(api);
      assert.deepEqual(await foundIds("house"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("HOUSES"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("run"), idsOf("houses"));
      assert.deepEqual(await foundIds("runs"), idsOf("houses"));
      assert.deepEqual(await foundIds("cafe"), idsOf("house"));
    });

    testWithApp(engine, "every word must match, in the content or the author's names", async (api) => {
      const { found, foundIds } = searcher(api);
      const { idsOf } = await margesNotes(api);
      assert.deepEqual(await foundIds("house water"), idsOf("houses"));
      assert.deepEqual(await foundIds("bouvier nothing"), idsOf("marge"));
      assert.deepEqual(await foundIds("marge"), idsOf("houses", "house", "mouse", "marge"));
      assert.deepEqual(await foundIds("house zebra"), []);
      // The tutorial's notes by Doug Farrell are found by his name.
      const doug = await found("Farrell");
      assert.equal(doug.length, 3);
      for (const note of doug) assert.equal(note.person.lname, "Farrell");
    });

    testWithApp(engine, "the last word finds the words it begins, whatever its length", async (api) => {
      const { foundContents } = searcher(api);
      // The tutorial's two notes saying "useful", from the first letter typed to the last.
      const useful = ["This could be useful", "Well, sort of useful"];
      for (const typed of ["u", "us", "use", "usef", "usefu", "useful", "USEF"]) {
        assert.deepEqual(await foundContents(typed), useful, typed);
      }
      // Past the stem: "running" is indexed as "run", and "runni" still finds it.
      const writer = await api.createSomeone();
      await api.createNote(writer.person_id, "Running late, generously");
      for (const typed of ["ru", "run", "runn", "runni", "running", "late runni", "genero", "generous"]) {
        assert.deepEqual(await foundContents(typed), ["Running late, generously"], typed);
      }
      assert.deepEqual(await foundContents("runnx"), []);
      assert.deepEqual(await foundContents("late runs"), ["Running late, generously"]);
      // Accents aside: "mul" begins "Müller", stemmed "muller".
      const muller = await api.createPerson("Jürgen", "Müller");
      await api.createNote(muller.person_id, "Grüße aus Köln");
      for (const typed of ["mu", "mü", "MUL", "mulle", "müller", "jurg", "kol"]) {
        assert.deepEqual(await foundContents(typed), ["Grüße aus Köln"], typed);
      }
    });

    testWithApp(engine, "the words of a note's Markdown are found, not its markup or link addresses", async (api) => {
      const { found, foundContents } = searcher(api);
      const writer = await api.createSomeone();
      const rich =
        "## Plans\n\nSome **boldface**, _slanted_ and `coded` words; see [the guide](https://docs.example.org/setup) or [that](handbook)";
      const picture = "![a sunset](https://photos.example.org/beach.png) by the sea";
      await api.createNote(writer.person_id, rich);
      await api.createNote(writer.person_id, picture);
      for (const words of ["boldface", "slanted", "coded words", "plans", "guide", "boldf", "**boldface**"]) {
        assert.deepEqual(await foundContents(words), [rich], words);
      }
      // What a reader sees of a picture: its description (the web app shows a link to it).
      for (const words of ["sunset", "sunset sea"]) {
        assert.deepEqual(await foundContents(words), [picture], words);
      }
      // Addresses hidden behind a link's text are not searched, whole or begun.
      for (const words of ["https", "docs", "setup", "photos", "beach", "png", "htt", "setu", "handbook", "handb"]) {
        assert.deepEqual(await foundContents(words), [], words);
      }
      // The highlight is the word, without the markup around it.
      const [note] = await found("boldface");
      assert.ok(note);
      assert.deepEqual(marked(note), ["content:boldface"]);
      // An edit indexes the new text's words the same way.
      const edited = await api.createNote(writer.person_id, "plain *setup* notes");
      assert.deepEqual(await foundContents("setup"), ["plain *setup* notes"]);
      assert.equal(
        (
          await api.put(`/api/people/${writer.person_id}/notes/${edited.note_id}`, {
            content: "[x](https://setup.example)",
          })
        ).statusCode,
        200,
      );
      assert.deepEqual(await foundContents("setup"), []);
    });

    testWithApp(engine, "an earlier word is whole, the last one begins words", async (api) => {
      const { foundIds } = searcher(api);
      const { idsOf } = await margesNotes(api);
      assert.deepEqual(await foundIds("hous"), idsOf("houses", "house"));
      assert.deepEqual(await foundIds("offi"), idsOf("mouse"));
      assert.deepEqual(await foundIds("water ru"), idsOf("houses"));
      assert.deepEqual(await foundIds("bouv"), idsOf("houses", "house", "mouse", "marge"));
      assert.deepEqual(await foundIds("caf"), idsOf("house"));
      assert.deepEqual(await foundIds("CRÈ"), idsOf("house"));
      // With or without the accents: "crè" and "cre" both begin "crème".
      assert.deepEqual(await foundIds("cre"), idsOf("house"));
      assert.deepEqual(await foundIds("cremé"), idsOf("house"));
      // A single letter begins words too: "a", "A", "about" (and nothing else of Marge's).
      assert.deepEqual(await foundIds("marge a"), idsOf("house", "marge"));
      assert.deepEqual(await foundIds("house c"), idsOf("house"));
      // An earlier word is never a prefix.
      assert.deepEqual(await foundIds("wat house"), []);
    });

    testWithApp(engine, "a whole word typed finds the longer words it begins, and only those", async (api) => {
      const { foundIds } = searcher(api);
      const gardener = await api.createPerson("Percy", "Thrower");
      const garden = await api.createNote(gardener.person_id, "My garden in spring");
      const gardenia = await api.createNote(gardener.person_id, "A gardenia in bloom");
      assert.deepEqual(await foundIds("garden"), [garden.note_id, gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenia"), [gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenias"), [gardenia.note_id]);
      assert.deepEqual(await foundIds("gardenx"), []);
      assert.deepEqual(await foundIds("spring gard"), [garden.note_id]);
    });

    testWithApp(engine, "highlights are ranges of the matched words, in every field", async (api) => {
      const { found } = searcher(api);
      const { ids } = await margesNotes(api);
      const [house] = (await found("house cafe")).filter((note) => note.note_id === ids.house);
      assert.ok(house);
      assert.deepEqual(marked(house), ["content:house", "content:HOUSE", "content:Café"]);
      const [mouse] = (await found("marge offi")).filter((note) => note.note_id === ids.mouse);
      assert.ok(mouse);
      assert.deepEqual(marked(mouse), ["content:office", "fname:Marge"]);
      const useful = await found("usef");
      assert.deepEqual(useful.map(marked), [["content:useful"], ["content:useful"]]);
      // The plain list has no highlights.
      const list = await api.get("/api/notes?limit=2");
      for (const note of list.json<ListedNote[]>()) assert.equal(note.highlights, undefined);
    });

    testWithApp(
      engine,
      "search syntax in the text is only punctuation: never a 500, never an operator",
      async (api) => {
        const { foundIds } = searcher(api);
        const { idsOf } = await margesNotes(api);
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
          "words:house",
          "{content author}:house",
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
        assert.deepEqual(await foundIds("words:house"), []);
        assert.deepEqual(await foundIds('"house'), idsOf("houses", "house"));
        assert.deepEqual(await foundIds("house*"), idsOf("houses", "house"));
      },
    );

    testWithApp(engine, "text without letters or digits finds nothing", async (api) => {
      for (const q of ['"', "***", " ", "()", "-"]) {
        const response = await api.get(search(q));
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(response.json(), []);
        assert.equal(response.headers["x-total-count"], "0");
        assert.equal(response.headers.link, undefined);
      }
    });

    testWithApp(engine, "too long, empty or NUL text is a 400 from the contract", async (api) => {
      assertInvalidFields(await api.get(search("house ".repeat(1700))), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get(search("x".repeat(201))), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get("/api/notes?q="), [{ in: "query", pointer: "/q" }]);
      assertInvalidFields(await api.get("/api/notes?q=house%00"), [{ in: "query", pointer: "/q" }]);
      assert.equal((await api.get(search("x".repeat(200)))).statusCode, 200);
    });

    testWithApp(engine, "pages of a search: ranked, each match once, the next link keeps q", async (api) => {
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

    testWithApp(engine, "forged search cursors are a 400 before any query runs", async (api) => {
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

    testWithApp(engine, "the index follows every change: edits, renames, deletions", async (api) => {
      const { foundIds } = searcher(api);
      const person = await api.createPerson("Ziggy", "Stardust");
      const note = await api.createNote(person.person_id, "Spiders from Mars");
      assert.deepEqual(await foundIds("spiders"), [note.note_id]);
      assert.deepEqual(await foundIds("ziggy"), [note.note_id]);
      assert.deepEqual(await foundIds("spid"), [note.note_id]);

      await api.put(`/api/people/${person.person_id}/notes/${note.note_id}`, { content: "Starman waiting" });
      assert.deepEqual(await foundIds("spiders"), []);
      assert.deepEqual(await foundIds("spid"), []);
      assert.deepEqual(await foundIds("starman"), [note.note_id]);
      assert.deepEqual(await foundIds("starm"), [note.note_id]);

      await api.put(`/api/people/${person.person_id}`, { fname: "Aladdin", lname: "Sane" });
      assert.deepEqual(await foundIds("ziggy"), []);
      assert.deepEqual(await foundIds("zig"), []);
      assert.deepEqual(await foundIds("aladdin starman"), [note.note_id]);
      assert.deepEqual(await foundIds("starman alad"), [note.note_id]);

      const second = await api.createNote(person.person_id, "Starman again");
      assert.equal((await api.delete(`/api/people/${person.person_id}/notes/${note.note_id}`)).statusCode, 204);
      assert.deepEqual(await foundIds("starman"), [second.note_id]);
      assert.deepEqual(await foundIds("waiti"), []);

      assert.equal((await api.delete(`/api/people/${person.person_id}`)).statusCode, 204);
      assert.deepEqual(await foundIds("starman"), []);
      assert.deepEqual(await foundIds("aladdin"), []);
      assert.deepEqual(await foundIds("alad"), []);
    });

    testWithApp(engine, "any text is a 200 or a 400 from validation, never a 500", async (api, t) => {
      await margesNotes(api);
      const syntax = fc.constantFrom(
        '"',
        "*",
        "^",
        ":",
        "(",
        ")",
        "-",
        "+",
        "{",
        "}",
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
          .array(fc.oneof(syntax, fc.constantFrom("house", "marge", "hou", "a", "é", "words", "content")), {
            maxLength: 12,
          })
          .map((parts) => parts.join("")),
        fc.string({ maxLength: 300 }),
        // Characters PostgreSQL's parser does not know as letters (a mark alone, a new ideograph, private use).
        fc.constant("\u0300\u{3347A}\u{F0000}\uE000"),
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
    const names = async (api: Api, q: string, extra = "") => {
      const response = await api.get(`/api/people?q=${encodeURIComponent(q)}${extra}`);
      assert.equal(response.statusCode, 200, response.body);
      return response.json<Person[]>().map((person) => `${person.fname} ${person.lname}`);
    };
    const createPeople = async (api: Api, people: [fname: string, lname: string][]) => {
      for (const [fname, lname] of people) await api.createPerson(fname, lname);
    };
    const AGENTS: [string, string][] = [
      ["Dana", "Scully"],
      ["Fox", "Mulder"],
      ["Walter", "Skinner"],
      ["Sam", "Dawson"],
    ];

    testWithApp(engine, "first or last name, regardless of case and spacing, in list order", async (api) => {
      await createPeople(api, AGENTS);
      assert.deepEqual(await names(api, "s"), ["Sam Dawson", "Dana Scully", "Walter Skinner"]);
      assert.deepEqual(await names(api, "SK"), ["Walter Skinner"]);
      assert.deepEqual(await names(api, "da"), ["Sam Dawson", "Dana Scully"]);
      assert.deepEqual(await names(api, "doug"), ["Doug Farrell"]);
      assert.deepEqual(await names(api, "mulder fox"), []);
      assert.deepEqual(await names(api, "zzz"), []);
    });

    testWithApp(engine, "% and _ are letters, not patterns", async (api) => {
      await createPeople(api, [
        ["100%", "Real"],
        ["Under_score", "Name"],
        ["Undergrowth", "Nameless"],
      ]);
      assert.deepEqual(await names(api, "%"), []);
      assert.deepEqual(await names(api, "_"), []);
      assert.deepEqual(await names(api, "100%"), ["100% Real"]);
      assert.deepEqual(await names(api, "under_"), ["Under_score Name"]);
      assert.deepEqual(await names(api, "under"), ["Under_score Name", "Undergrowth Nameless"]);
      assert.deepEqual(await names(api, "under%"), []);
      assert.deepEqual(await names(api, "u_der"), []);
    });

    testWithApp(engine, "paged with the count of the matches, the next link keeps q", async (api) => {
      await createPeople(api, AGENTS);
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
