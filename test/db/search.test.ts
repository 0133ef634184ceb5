import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { generateNotes, noteText, random } from "../../bench/dataset.js";
import { migrateToLatest, migrator, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { type FoundNote, SearchService } from "../../src/domain/search.js";
import { foldToken, highlighter, parseQuery, stem } from "../../src/domain/search-text.js";
import { createDatabase, engines, type TestDatabase } from "../support/app.js";

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

  test("highlights mark the matched words, the last word also as a prefix", () => {
    const query = parseQuery('"running" hou');
    assert.ok(query);
    const marks = highlighter(query)("content", "Runs of houses; he ran home, running");
    assert.deepEqual(
      marks.map((mark) => "Runs of houses; he ran home, running".slice(mark.start, mark.end)),
      ["Runs", "houses", "running"],
    );
    assert.equal(parseQuery("***"), undefined);
    assert.deepEqual(parseQuery("a"), { words: ["a"], prefix: false });
    assert.deepEqual(parseQuery('x AND "y'), { words: ["x", "AND", "y"], prefix: false });
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
      select count(*)::int as stale from note join person using (person_id)
      where note.search is distinct from
        to_tsvector('note_search', note_search_fold(note.content))
          || to_tsvector('note_search', note_search_fold(person.fname || ' ' || person.lname))`.execute(store.db);
    assert.equal(rows[0]?.stale, 0);
  }
}

for (const engine of engines()) {
  describe(`search index (${engine})`, () => {
    test("the migration indexes the notes there are already", async () => {
      await withDatabase(engine, async ({ store }) => {
        const { error } = await (await migrator(store)).migrateTo("006_token_lookup");
        assert.equal(error, undefined);
        await seedTutorialData(store);
        await migrateToLatest(store);
        const search = new SearchService(store);
        const found = await search.notes("useful", 10);
        assert.deepEqual(found.items.map((note) => note.content).sort(), [
          "This could be useful",
          "Well, sort of useful",
        ]);
        assert.equal((await search.notes("brockman", 10)).total, 2);
        await assertIndexConsistent(store);
      });
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
