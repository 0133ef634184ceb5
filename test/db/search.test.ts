import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import { sql } from "kysely";
import { generateNotes, noteText, random } from "../../bench/dataset.js";
import { migrateToLatest, migrator, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { lettersFoldedToAscii, lettersInPlace, wordsColumnText } from "../../src/db/search-letters.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { type FoundNote, SearchService } from "../../src/domain/search.js";
import { foldToken, highlighter, parseQuery, stem } from "../../src/domain/search-text.js";
import { createDatabase, engines, type TestDatabase } from "../support/app.js";
import { propertyParameters } from "../support/property.js";

async function withDatabase(engine: "sqlite" | "postgres", work: (database: TestDatabase) => Promise<void>) {
  const database = await createDatabase(engine);
  try {
    await work(database);
  } finally {
    await database.destroy();
  }
}

/** Words with every ending the Porter rules know, and then some. */
const WORDS = [
  ...new Set(
    (
      "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized " +
      "hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational " +
      "valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization " +
      "predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti " +
      "sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival " +
      "allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment " +
      "dependent adoption homologou communism activate angulariti homologous effective bowdlerize " +
      "probate rate cease controll roll generously generation houses housing running ran yes " +
      "archaeology knightly bye eyes syzygy crying flying dying lying skies agreement ableness " +
      "Café naïve résumé ÜBER straße ǅemal 1st 2nd 3rd 42 aaa iii ooo yyy ye"
    ).split(" "),
  ),
];

describe("search text", () => {
  test("stems exactly as SQLite's porter tokenizer indexes", () => {
    const db = new Database(":memory:");
    try {
      db.exec("create virtual table t using fts5(c, tokenize = 'porter unicode61 remove_diacritics 2')");
      db.exec("create virtual table v using fts5vocab(t, 'instance')");
      const next = random(7);
      const texts = [...WORDS, ...Array.from({ length: 200 }, () => noteText(next))];
      const insert = db.prepare("insert into t (rowid, c) values (?, ?)");
      texts.forEach((text, i) => {
        insert.run(i + 1, text);
      });
      const indexed = db.prepare("select term from v where doc = ? order by offset").pluck();
      texts.forEach((text, i) => {
        const ours = (text.match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).map((token) => stem(foldToken(token)));
        assert.deepEqual(ours, indexed.all(i + 1), text);
      });
    } finally {
      db.close();
    }
  });

  test("the letters moved as ASCII letters are those unicode61 folds to ASCII letters", () => {
    const db = new Database(":memory:");
    try {
      db.exec("create virtual table t using fts5(c, tokenize = 'unicode61 remove_diacritics 2')");
      db.exec("create virtual table v using fts5vocab(t, 'instance')");
      const insert = db.prepare("insert into t (rowid, c) values (?, ?)");
      db.transaction(() => {
        for (let point = 0x80; point < 0x30000; point++) {
          if (point < 0xd800 || point > 0xdfff) insert.run(point, `q${String.fromCodePoint(point)}q`);
        }
      })();
      const byAscii = new Map<string, string>();
      for (const { doc, term } of db.prepare("select doc, term from v").all() as { doc: number; term: string }[]) {
        // A letter folded to ASCII letters shows as one term with them between the two q's.
        const inner = /^q(.*)q$/.exec(term)?.[1];
        if (inner !== undefined && /[a-z]/.test(inner)) byAscii.set(String.fromCodePoint(doc), inner);
      }
      assert.deepEqual(
        [...byAscii].sort(([a], [b]) => a.localeCompare(b)),
        [...lettersFoldedToAscii()].sort(([a], [b]) => a.localeCompare(b)),
      );
    } finally {
      db.close();
    }
  });

  test("highlights mark the matched words, the last word also as a prefix", () => {
    const query = parseQuery('"running" hou');
    assert.ok(query);
    const marks = highlighter(query)("content", "Runs of houses; he ran home, running");
    assert.deepEqual(
      marks.map((mark) => "Runs of houses; he ran home, running".slice(mark.start, mark.end)),
      ["Runs", "houses", "running"],
    );
    assert.equal(parseQuery("***"), undefined);
    assert.deepEqual(parseQuery("a"), { words: ["a"] });
    assert.deepEqual(parseQuery('x AND "y'), { words: ["x", "AND", "y"] });
    // The last word's beginning is compared unstemmed: "usef" marks "useful" (stemmed "us").
    const useful = parseQuery("usef");
    assert.ok(useful);
    const text = "Useful, used, usefulness, abuse";
    assert.deepEqual(
      highlighter(useful)("content", text).map((mark) => text.slice(mark.start, mark.end)),
      ["Useful", "usefulness"],
    );
  });
});

/** The ids of every note a search finds, page after page, in order. */
async function everyPage(search: SearchService, q: string, limit: number): Promise<FoundNote[]> {
  const found: FoundNote[] = [];
  let cursor: string | undefined;
  do {
    const page = await search.notes(q, limit, cursor);
    found.push(...page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  return found;
}

async function insertPerson(store: Store, fname: string, lname: string): Promise<number> {
  const row = await store.db
    .insertInto("person")
    .values({ fname, lname, fname_key: nameKey(fname), lname_key: nameKey(lname), timestamp: new Date().toISOString() })
    .returning("person_id")
    .executeTakeFirstOrThrow();
  return row.person_id;
}

/** The index agrees with the notes and names as they are now. */
async function assertIndexConsistent(store: Store): Promise<void> {
  if (store.engine === "sqlite") {
    // FTS5 compares every indexed row with what the external content says it should be.
    await sql`insert into note_search (note_search, rank) values ('integrity-check', 1)`.execute(store.db);
  } else {
    const { rows } = await sql<{ stale: number }>`
      with names as (select note.note_id, note.content, person.fname || ' ' || person.lname as author, note.search
                     from note join person using (person_id))
      select count(*)::int as stale from names
      where search is distinct from
        to_tsvector('note_search', note_search_fold(content)) || to_tsvector('note_search', note_search_fold(author))
          || setweight(to_tsvector('simple', note_search_fold(content)) || to_tsvector('simple', note_search_fold(author)), 'A')`.execute(
      store.db,
    );
    assert.equal(rows[0]?.stale, 0);
  }
}

/** Letters of several kinds (capitals, letters with and without diacritics), and digits. */
const LETTER = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz") },
  { weight: 3, arbitrary: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ") },
  { weight: 2, arbitrary: fc.constantFrom(..."éÉèüçøß") },
  { weight: 1, arbitrary: fc.constantFrom(..."0123456789") },
);
/** English endings, so that made-up words get stemmed too. */
const ENDING = fc.constantFrom(
  "s",
  "es",
  "ies",
  "ed",
  "ing",
  "ly",
  "ful",
  "fulness",
  "ation",
  "ational",
  "ment",
  "y",
  "e",
);
/** A word as people write them: a real one with a telling ending, a made-up one, or one with an ending. */
const WORD = fc.oneof(
  fc.constantFrom(
    ...WORDS,
    "useful",
    "usefulness",
    "running",
    "happiness",
    "days",
    "played",
    "generously",
    "ays",
    "oyed",
  ),
  fc.array(LETTER, { minLength: 1, maxLength: 12 }).map((letters) => letters.join("")),
  fc
    .tuple(fc.array(LETTER, { minLength: 1, maxLength: 8 }), ENDING)
    .map(([letters, ending]) => letters.join("") + ending),
);
const SEPARATOR = fc.constantFrom(" ", ", ", ". ", " - ", "! ", " (", ") ");

/**
 * A note of a few words by an author of two names, one of its words, how much of it is typed (as
 * written or without accents), and perhaps another whole word first.
 */
const TYPED = fc
  .record({
    content: fc.array(fc.tuple(WORD, SEPARATOR), { minLength: 1, maxLength: 8 }),
    fname: WORD,
    lname: WORD,
    target: fc.nat(),
    length: fc.nat(),
    plain: fc.boolean(),
    earlier: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ content, fname, lname, target, length, plain, earlier }) => {
    const words = [...content.map(([word]) => word), fname, lname];
    const word = words[target % words.length] as string;
    const letters = [...word];
    return {
      content: content
        .map(([word, separator]) => word + separator)
        .join("")
        .trim(),
      fname,
      lname,
      word,
      // As written, or typed without accents and capitals.
      prefix: ((typed: string) => (plain ? foldToken(typed) : typed))(
        letters.slice(0, 1 + (length % letters.length)).join(""),
      ),
      earlier: earlier === undefined ? undefined : words[earlier % words.length],
    };
  });

for (const engine of engines()) {
  describe(`search index (${engine})`, () => {
    test("the migrations index the notes there are already", async () => {
      // From before the index (007), and from before the words as written (009).
      for (const before of ["006_token_lookup", "008_change_feed"]) {
        await withDatabase(engine, async ({ store }) => {
          const { error } = await (await migrator(store)).migrateTo(before);
          assert.equal(error, undefined);
          await seedTutorialData(store);
          await migrateToLatest(store);
          const search = new SearchService(store);
          for (const q of ["useful", "usef", "u"]) {
            const found = await search.notes(q, 10);
            assert.deepEqual(found.items.map((note) => note.content).sort(), [
              "This could be useful",
              "Well, sort of useful",
            ]);
          }
          assert.equal((await search.notes("brockman", 10)).total, 2);
          assert.equal((await search.notes("brockm", 10)).total, 2);
          await assertIndexConsistent(store);
        });
      }
    });

    test("every change keeps the index exact: edits, moves, renames, cascading deletes", async () => {
      await withDatabase(engine, async ({ store }) => {
        await prepareDatabase(store);
        const ann = await insertPerson(store, "Ann", "Alpha");
        const bob = await insertPerson(store, "Bob", "Beta");
        const next = random(3);
        const notes = Array.from({ length: 40 }, (_, i) => ({
          person_id: i % 2 ? ann : bob,
          content: noteText(next),
          timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
        }));
        await store.db.insertInto("note").values(notes).execute();
        await assertIndexConsistent(store);
        await store.db.updateTable("note").set({ content: "changed words" }).where("person_id", "=", ann).execute();
        await store.db.updateTable("note").set({ person_id: ann }).where("note_id", "<", 12).execute();
        await store.db
          .updateTable("person")
          .set({ fname: "Anna", fname_key: "anna" })
          .where("person_id", "=", ann)
          .execute();
        await assertIndexConsistent(store);
        const search = new SearchService(store);
        assert.equal((await search.notes("anna", 100)).total, (await search.notes("alpha", 100)).total);
        assert.equal((await search.notes("ann", 100)).total, (await search.notes("alpha", 100)).total);
        await store.db.deleteFrom("person").where("person_id", "=", ann).execute();
        await store.db.deleteFrom("note").where("note_id", "=", 30).execute();
        await assertIndexConsistent(store);
        assert.equal((await search.notes("alpha", 100)).total, 0);
        assert.equal((await search.notes("changed", 100)).total, 0);
        assert.ok((await search.notes("beta", 100)).total > 0);
      });
    });

    if (engine === "sqlite") {
      test("the words column holds each word unstemmed, its letters moved as the service moves them", async () => {
        await withDatabase(engine, async ({ store }) => {
          await prepareDatabase(store);
          const [fname, lname] = ["Ünal", "O'Brien-Smith Ǡǡ ſ"];
          const author = await insertPerson(store, fname, lname);
          const texts = [
            ...WORDS,
            "Useful RUNNING généreux 1st x2 東京 \uE000",
            "Müller crème BRÛLÉE Ærø İstanbul Łódź Việt Kelvin\u212A e\u0301te\u0301",
          ];
          const notes = await store.db
            .insertInto("note")
            .values(texts.map((content) => ({ person_id: author, content, timestamp: new Date().toISOString() })))
            .returning(["note_id", "content"])
            .execute();
          // What the service moves, through the same tokenizer without stemming, note by note.
          await sql`create virtual table temp.moved using fts5(words, tokenize = 'unicode61 remove_diacritics 2')`.execute(
            store.db,
          );
          for (const note of notes) {
            const text = wordsColumnText(`${note.content} ${fname} ${lname}`);
            await sql`insert into temp.moved (rowid, words) values (${note.note_id}, ${text})`.execute(store.db);
          }
          await sql`create virtual table temp.indexed using fts5vocab(main, note_search, 'instance')`.execute(store.db);
          await sql`create virtual table temp.expected using fts5vocab(temp, moved, 'instance')`.execute(store.db);
          const terms = async (table: "indexed" | "expected", noteId: number) => {
            const { rows } = await sql<{ term: string }>`
              select term from ${sql.table(`temp.${table}`)} where doc = ${noteId} and col = 'words'
              order by offset`.execute(store.db);
            return rows.map((row) => row.term);
          };
          for (const note of notes) {
            const indexed = await terms("indexed", note.note_id);
            assert.deepEqual(indexed, await terms("expected", note.note_id), note.content);
            // No ASCII letter is left for the porter tokenizer to stem.
            for (const term of indexed) assert.doesNotMatch(term, /[a-z]/, note.content);
          }
          assert.equal(lettersInPlace(wordsColumnText("Useful 1st É ß Ǡ")), "useful 1st e ß Ǡ");
        });
      });

      test("a word's stem, searched as a word, finds every word stemmed to it", async (t) => {
        await withDatabase(engine, async ({ store }) => {
          await prepareDatabase(store);
          const search = new SearchService(store);
          const author = await insertPerson(store, "Stem", "Finder");
          await fc.assert(
            fc.asyncProperty(WORD, async (word) => {
              const stemmed = stem(foldToken(word));
              // A stem is searched as a word when it is its own stem (Porter's is not always).
              fc.pre(stem(stemmed) === stemmed);
              const { note_id } = await store.db
                .insertInto("note")
                .values({ person_id: author, content: `Some ${word} here`, timestamp: new Date().toISOString() })
                .returning("note_id")
                .executeTakeFirstOrThrow();
              const page = await search.notes(stemmed, 1_000);
              assert.ok(
                page.items.some((item) => item.note_id === note_id),
                `${stemmed} finds ${word}`,
              );
            }),
            propertyParameters(t, 100),
          );
        });
      });
    }

    test("any beginning of any word of a note or its author's names finds the note", async (t) => {
      await withDatabase(engine, async ({ store }) => {
        await prepareDatabase(store);
        const search = new SearchService(store);
        let run = 0;
        await fc.assert(
          fc.asyncProperty(TYPED, async ({ content, fname, lname, word, prefix, earlier }) => {
            run++;
            // A number makes every author's names unique; each run adds one note.
            const author = await insertPerson(store, fname, `${lname} ${run}`);
            const { note_id } = await store.db
              .insertInto("note")
              .values({ person_id: author, content, timestamp: new Date().toISOString() })
              .returning("note_id")
              .executeTakeFirstOrThrow();
            for (const q of [prefix, ...(earlier === undefined ? [] : [`${earlier} ${prefix}`])]) {
              const page = await search.notes(q, 1_000);
              assert.ok(page.next === undefined && page.items.length === page.total, "all on one page");
              const note = page.items.find((item) => item.note_id === note_id);
              assert.ok(note, `${JSON.stringify(q)} finds ${JSON.stringify(content)} by ${fname} ${lname} (${word})`);
              const text = { content, fname, lname: `${lname} ${run}` };
              const marked = note.highlights.map((h) => text[h.field].slice(h.start, h.end));
              assert.ok(marked.includes(word), `${JSON.stringify(q)} marks ${word} in ${JSON.stringify(marked)}`);
            }
          }),
          propertyParameters(t, 100),
        );
        await assertIndexConsistent(store);
      });
    });

    test("windows: the newest matches first, ranked, and every match exactly once", async () => {
      await withDatabase(engine, async ({ store }) => {
        await prepareDatabase(store);
        const author = await insertPerson(store, "Win", "Dow");
        const notes = [...generateNotes(1, 60)].map((note, i) => ({
          person_id: author,
          content: `${note.content} ${i % 3 === 0 ? "marker marker" : i % 3 === 1 ? "marker" : "nothing"}`,
          timestamp: note.timestamp,
        }));
        await store.db.insertInto("note").values(notes).execute();
        const search = new SearchService(store, 7);
        const all = await everyPage(search, "marker", 3);
        const total = (await search.notes("marker", 3)).total;
        assert.equal(total, 40);
        assert.equal(all.length, 40);
        assert.equal(new Set(all.map((note) => note.note_id)).size, 40);
        // Each run of 7 is the next-newest window: every id in it is above every id of the next.
        for (let start = 0; start + 7 < all.length; start += 7) {
          const window = all.slice(start, start + 7).map((note) => note.note_id);
          const older = all.slice(start + 7).map((note) => note.note_id);
          assert.ok(Math.min(...window) > Math.max(...older), `window at ${start}`);
        }
        // Within a window, the notes saying it twice come first.
        const first = all.slice(0, 7).map((note) => (note.content.match(/marker/g) ?? []).length);
        assert.deepEqual(
          first,
          [...first].sort((a, b) => b - a),
        );
        // A page size spanning windows gives the same order.
        assert.deepEqual(
          (await everyPage(search, "marker", 5)).map((note) => note.note_id),
          all.map((note) => note.note_id),
        );
      });
    });
  });
}
