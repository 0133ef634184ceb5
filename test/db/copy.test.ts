import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { buildApp } from "../../src/app.js";
import { migrateToLatest, type Store } from "../../src/db/database.js";
import { nameKey } from "../../src/db/names.js";
import { seedTutorialData } from "../../src/db/seed.js";
import {
  type CopyProgress,
  CopyRefusedError,
  CopyVerificationError,
  copyDatabase,
  TargetNotEmptyError,
} from "../../src/db/transfer/copy.js";
import { TABLES } from "../../src/db/transfer/tables.js";
import { createDatabase, type Engine, type TestDatabase } from "../support/app.js";
import { totals } from "../support/counts.js";

/**
 * Five read batches of notes at the default 5,000 rows, the last one partial, and two INSERTs a
 * batch: every boundary the copy has, each way. What is asserted (every row arrives as it was, the
 * counts are kept) holds at any size past them; the million-note copy is bench/'s
 * (npm run bench -- --copy), which measures time and memory.
 */
const FIXTURE = { people: 1_000, notes: 22_500 };
const INSERT_ROWS = 1_000;

/**
 * Fills a migrated store with people and notes whose ids have gaps (person 1, 4, 7, …; note 1, 3, 5,
 * …), whose versions and timestamps vary, some with text that needs escaping, in one transaction.
 */
async function fill(store: Store, size: { people: number; notes: number }): Promise<void> {
  await migrateToLatest(store);
  const personIds = Array.from({ length: size.people }, (_, i) => 1 + 3 * i);
  await store.db.transaction().execute(async (tx) => {
    for (let start = 0; start < size.people; start += INSERT_ROWS) {
      const rows = personIds.slice(start, start + INSERT_ROWS).map((person_id, k) => {
        const i = start + k;
        const [fname, lname] = [`Ånne ${i}`, `O'Brien "${i}"`];
        return {
          person_id,
          fname,
          lname,
          fname_key: nameKey(fname),
          lname_key: nameKey(lname),
          timestamp: new Date(Date.UTC(2020, 0, 1) + i * 1_001).toISOString(),
          version: 1 + (i % 3),
        };
      });
      await tx.insertInto("person").values(rows).execute();
    }
    for (let start = 0; start < size.notes; start += INSERT_ROWS) {
      const rows = Array.from({ length: Math.min(INSERT_ROWS, size.notes - start) }, (_, k) => {
        const i = start + k;
        return {
          note_id: 1 + 2 * i,
          person_id: personIds[(i * 7_919) % size.people] as number,
          // Every seventh note needs escaping; the others are short, as each word costs both
          // engines' search indexes time (folded letters most).
          content: i % 7 === 0 ? `Note ${i}: "quoted", back\\slash, ünïcödé ✓\nsecond line` : `Note ${i} ✓`,
          timestamp: new Date(Date.UTC(2021, 0, 1) + i * 997).toISOString(),
          version: 1 + (i % 5),
        };
      });
      await tx.insertInto("note").values(rows).execute();
    }
  });
}

async function allRows(store: Store) {
  return {
    people: await store.db.selectFrom("person").select(TABLES.person.columns).orderBy("person_id").execute(),
    // Columns the engines share: PostgreSQL also keeps each note's search vector.
    notes: await store.db.selectFrom("note").select(TABLES.note.columns).orderBy("note_id").execute(),
  };
}

async function withDatabases(
  from: Engine,
  to: Engine,
  work: (source: TestDatabase, target: TestDatabase) => Promise<void>,
): Promise<void> {
  const source = await createDatabase(from);
  try {
    const target = await createDatabase(to);
    try {
      await work(source, target);
    } finally {
      await target.destroy();
    }
  } finally {
    await source.destroy();
  }
}

/** Creating a person and a note through the API gets fresh ids, above every copied one. */
async function assertFreshIdsAfter(target: Store, highest: { person: number; note: number }): Promise<void> {
  const app = await buildApp({ store: target });
  try {
    const person = await app.inject({
      method: "POST",
      url: "/api/people",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ fname: "After", lname: "The Copy" }),
    });
    assert.equal(person.statusCode, 201, person.body);
    const personId = person.json<{ person_id: number }>().person_id;
    assert.ok(personId > highest.person, `person id ${personId} is not above ${highest.person}`);
    const note = await app.inject({
      method: "POST",
      url: `/api/people/${personId}/notes`,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ content: "Written after the copy" }),
    });
    assert.equal(note.statusCode, 201, note.body);
    const noteId = note.json<{ note_id: number }>().note_id;
    assert.ok(noteId > highest.note, `note id ${noteId} is not above ${highest.note}`);
  } finally {
    await app.close();
  }
}

const directions: [Engine, Engine][] = [
  ["sqlite", "postgres"],
  ["postgres", "sqlite"],
];

/**
 * Copies `source` (holding FIXTURE) into the empty `target` and checks that everything arrived;
 * returns the highest ids copied.
 */
async function copyWhole(source: Store, target: Store, to: Engine): Promise<{ person: number; note: number }> {
  const phases = new Set<string>();
  const report = await copyDatabase(source, target, {
    onProgress: (progress) => {
      phases.add(progress.phase);
    },
  });

  assert.deepEqual([...phases], ["people", "notes", "verifying"]);
  assert.equal(report.source.people, FIXTURE.people);
  assert.equal(report.source.notes, FIXTURE.notes);
  assert.match(report.source.checksum, /^[0-9a-f]{64}$/);
  assert.deepEqual(report.target, report.source);

  const [copied, original] = [await allRows(target), await allRows(source)];
  assert.deepEqual(copied, original);

  const kept = await totals(target);
  assert.equal(kept.kept.person, FIXTURE.people);
  assert.equal(kept.kept.note, FIXTURE.notes);
  assert.equal(kept.keptPerPerson.length, FIXTURE.people);
  assert.deepEqual(kept.keptPerPerson, kept.realPerPerson);

  const last = { person: 1 + 3 * (FIXTURE.people - 1), note: 1 + 2 * (FIXTURE.notes - 1) };
  if (to === "postgres") {
    const { rows } = await sql<{ last_folded: string }>`
      select last_folded from count_watermark where name = 'note'`.execute(target.db);
    assert.equal(Number(rows[0]?.last_folded), last.note, "the copied notes are folded into the counts");
  }
  return last;
}

describe("copying a database", () => {
  // One chain for both directions: the PostgreSQL database the first copy made is the second's
  // source, so PostgreSQL indexes the notes once rather than once per direction (inserting them
  // into PostgreSQL is most of this test's time).
  test("sqlite → postgres → sqlite: 22,500 notes arrive with their ids, versions, timestamps, people and counts, each way", async () => {
    await withDatabases("sqlite", "postgres", async (source, middle) => {
      const back = await createDatabase("sqlite");
      try {
        await fill(source.store, FIXTURE);
        const last = await copyWhole(source.store, middle.store, "postgres");
        assert.deepEqual(await copyWhole(middle.store, back.store, "sqlite"), last);
        // After both copies: a row made here would be one more for the second copy to carry.
        await assertFreshIdsAfter(middle.store, last);
        await assertFreshIdsAfter(back.store, last);
      } finally {
        await back.destroy();
      }
    });
  });

  test("a target that has people or notes is refused and left as it was", async () => {
    await withDatabases("sqlite", "postgres", async (source, target) => {
      await fill(source.store, { people: 10, notes: 50 });
      await migrateToLatest(target.store);
      await seedTutorialData(target.store);
      const before = await allRows(target.store);

      await assert.rejects(copyDatabase(source.store, target.store), (error) => {
        assert.ok(error instanceof TargetNotEmptyError);
        assert.deepEqual(error.held, { people: 3, notes: 7, revisions: 0, trash: 0 });
        return true;
      });
      assert.deepEqual(await allRows(target.store), before);
    });
  });

  for (const to of ["sqlite", "postgres"] as const) {
    test(`replace on ${to}: the target's people and notes give way to the source's, counts included`, async () => {
      await withDatabases("sqlite", to, async (source, target) => {
        await fill(source.store, { people: 20, notes: 300 });
        await migrateToLatest(target.store);
        await seedTutorialData(target.store);
        await target.store.db
          .insertInto("note")
          .values({ person_id: 1, content: "Only on the target", timestamp: "2024-01-01T00:00:00.000Z" })
          .execute();

        const report = await copyDatabase(source.store, target.store, { replace: true, batchRows: 7 });

        assert.deepEqual(report.replaced, { people: 3, notes: 8, revisions: 0, trash: 0 });
        assert.deepEqual(await allRows(target.store), await allRows(source.store));
        const kept = await totals(target.store);
        assert.equal(kept.kept.person, 20);
        assert.equal(kept.kept.note, 300);
        assert.deepEqual(kept.keptPerPerson, kept.realPerPerson);
      });
    });
  }

  test("a copy that fails half-way leaves the target as it was, and running it again succeeds", async () => {
    await withDatabases("postgres", "sqlite", async (source, target) => {
      await fill(source.store, { people: 100, notes: 10_000 });
      await migrateToLatest(target.store);
      await seedTutorialData(target.store);
      const before = await allRows(target.store);
      const countsBefore = await totals(target.store);

      let failedAt: CopyProgress | undefined;
      await assert.rejects(
        copyDatabase(source.store, target.store, {
          replace: true,
          batchRows: 1_000,
          onProgress: (progress) => {
            if (progress.phase === "notes" && progress.done >= progress.total / 2) {
              failedAt = progress;
              throw new Error("injected failure half-way");
            }
          },
        }),
        /injected failure half-way/,
      );
      assert.equal(failedAt?.done, 5_000);
      assert.deepEqual(await allRows(target.store), before);
      assert.deepEqual(await totals(target.store), countsBefore);

      const report = await copyDatabase(source.store, target.store, { replace: true });
      assert.equal(report.target.notes, 10_000);
      assert.deepEqual(await allRows(target.store), await allRows(source.store));
    });
  });

  for (const to of ["sqlite", "postgres"] as const) {
    test(`on ${to}, a target that changes rows as they arrive fails verification and keeps nothing`, async () => {
      await withDatabases("sqlite", to, async (source, target) => {
        await fill(source.store, { people: 5, notes: 40 });
        await migrateToLatest(target.store);
        if (to === "sqlite") {
          await sql`create trigger tamper after insert on note when new.note_id = 21
                    begin update note set content = 'tampered' where note_id = new.note_id; end`.execute(
            target.store.db,
          );
        } else {
          await sql`create function tamper() returns trigger language plpgsql as $$
                      begin update note set content = 'tampered' where note_id = 21; return null; end $$`.execute(
            target.store.db,
          );
          await sql`create trigger tamper after insert on note for each statement execute function tamper()`.execute(
            target.store.db,
          );
        }

        await assert.rejects(copyDatabase(source.store, target.store), (error) => {
          assert.ok(error instanceof CopyVerificationError);
          assert.match(error.message, /checksums differ/);
          return true;
        });
        assert.deepEqual(await allRows(target.store), { people: [], notes: [] });
      });
    });
  }

  test("a target whose counts are not kept fails verification and keeps nothing", async () => {
    await withDatabases("postgres", "sqlite", async (source, target) => {
      await fill(source.store, { people: 5, notes: 40 });
      await migrateToLatest(target.store);
      await sql`drop trigger note_counted_insert`.execute(target.store.db);

      await assert.rejects(copyDatabase(source.store, target.store), (error) => {
        assert.ok(error instanceof CopyVerificationError);
        assert.match(error.message, /kept counts say 5 people and 0 notes/);
        assert.match(error.message, /5 people's kept note counts are wrong/);
        return true;
      });
      assert.deepEqual(await allRows(target.store), { people: [], notes: [] });
    });
  });

  for (const [from, to] of directions) {
    test(`the copy reads one snapshot of ${from}: a note committed meanwhile is not copied`, async () => {
      await withDatabases(from, to, async (source, target) => {
        await fill(source.store, { people: 10, notes: 2_000 });
        const writer = source.openAnother();
        let written = false;
        const report = await copyDatabase(source.store, target.store, {
          batchRows: 100,
          onProgress: async (progress) => {
            if (progress.phase !== "notes" || written) return;
            written = true;
            await writer.db
              .insertInto("note")
              .values({ note_id: 1_000_000, person_id: 1, content: "Late", timestamp: "2030-01-01T00:00:00.000Z" })
              .execute();
          },
        });
        assert.ok(written);
        assert.equal(report.source.notes, 2_000);
        assert.equal(report.target.notes, 2_000);
        const late = await target.store.db.selectFrom("note").select("note_id").where("note_id", "=", 1_000_000);
        assert.equal((await late.execute()).length, 0);
      });
    });
  }

  test("history and the trash are copied as they are, ids stay ahead of the trash's, and history: false leaves them behind", async () => {
    await withDatabases("sqlite", "postgres", async (source, target) => {
      await migrateToLatest(source.store);
      await seedTutorialData(source.store);
      const app = await buildApp({ store: source.store });
      let trashed: { person: number; note: number };
      try {
        const send = async (method: "POST" | "PUT" | "DELETE", url: string, body?: object) => {
          const response = await app.inject({
            method,
            url,
            ...(body === undefined
              ? {}
              : { headers: { "content-type": "application/json" }, payload: JSON.stringify(body) }),
          });
          assert.ok(response.statusCode < 300, response.body);
          return response.body === "" ? {} : (response.json() as Record<string, number>);
        };
        await send("PUT", "/api/people/1/notes/2", { content: "Edited" });
        await send("DELETE", "/api/people/1/notes/3");
        const person = await send("POST", "/api/people", { fname: "Deleted", lname: "Last" });
        const note = await send("POST", `/api/people/${person.person_id}/notes`, { content: "Gone with them" });
        await send("DELETE", `/api/people/${person.person_id}`);
        trashed = { person: Number(person.person_id), note: Number(note.note_id) };
      } finally {
        await app.close();
      }
      const history = async (store: Store) => ({
        revisions: await store.db
          .selectFrom("note_revision")
          .select(TABLES.note_revision.columns)
          .orderBy("note_id")
          .orderBy("version")
          .execute(),
        trash: await store.db
          .selectFrom("trash_entry")
          .select(TABLES.trash_entry.columns)
          .orderBy("trash_id")
          .execute(),
      });

      const report = await copyDatabase(source.store, target.store, { batchRows: 2 });
      assert.equal(report.source.trash, 2);
      assert.ok(report.source.revisions >= 2, "the edited note's versions are copied");
      assert.deepEqual(report.target, report.source);
      assert.deepEqual(await history(target.store), await history(source.store));
      assert.deepEqual(await allRows(target.store), await allRows(source.store));
      await assertFreshIdsAfter(target.store, trashed);

      const without = await copyDatabase(source.store, target.store, { replace: true, history: false });
      assert.deepEqual([without.source.revisions, without.source.trash], [0, 0]);
      assert.deepEqual(await history(target.store), { revisions: [], trash: [] });
      assert.deepEqual(await allRows(target.store), await allRows(source.store));
    });
  });

  test("a source without the service's tables is refused before the target is touched", async () => {
    await withDatabases("sqlite", "sqlite", async (source, target) => {
      await assert.rejects(copyDatabase(source.store, target.store), (error) => {
        assert.ok(error instanceof CopyRefusedError);
        assert.match(error.message, /no people-notes tables/);
        return true;
      });
      const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
        target.store.db,
      );
      assert.deepEqual(tables.rows, []);
    });
  });
});
