import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { changesAfter, recordChange } from "../../src/db/changes/repository.js";
import { dropAll, migrateToLatest, migrator } from "../../src/db/database.js";
import { countNotes, countNotesOfPerson } from "../../src/db/notes-repository.js";
import { countPeople } from "../../src/db/people-repository.js";
import { countMatches } from "../../src/db/search-repository.js";
import { seedTutorialData } from "../../src/db/seed.js";
import { prepareDatabase } from "../../src/db/setup.js";
import { fts5Expression, parseQuery, tsqueryTexts } from "../../src/domain/search-text.js";
import { createDatabase, engines, type TestDatabase, withAdmin } from "../support/app.js";

const EVERY_MIGRATION = [
  "001_initial",
  "002_versions_and_slotted_counts",
  "003_cheaper_identity_check",
  "004_note_counts_folded",
  "005_tokens",
  "006_token_lookup",
  "007_note_search",
  "008_change_feed",
  "009_note_search_words",
  "010_change_resource",
  "011_accounts",
  "012_passkeys",
  "013_note_search_text",
  "014_note_history",
  "015_trash",
  "016_webhooks",
];

async function count(database: TestDatabase, table: "person" | "note"): Promise<number> {
  const row = await database.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function indexNames(database: TestDatabase): Promise<string[]> {
  const { db, engine } = database.store;
  const query =
    engine === "sqlite"
      ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and name not like 'sqlite_%'`
      : sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema()`;
  return (await query.execute(db)).rows.map((row) => row.name);
}

async function withDatabase(engine: "sqlite" | "postgres", work: (database: TestDatabase) => Promise<void>) {
  const database = await createDatabase(engine);
  try {
    await work(database);
  } finally {
    await database.destroy();
  }
}

for (const engine of engines()) {
  describe(`migrations (${engine})`, () => {
    test("a new database gets every migration and the tutorial's data", async () => {
      await withDatabase(engine, async (database) => {
        const result = await prepareDatabase(database.store);
        assert.deepEqual(result, { seeded: true, applied: EVERY_MIGRATION });
        assert.equal(await count(database, "person"), 3);
        assert.equal(await count(database, "note"), 7);
      });
    });

    test("running them again changes nothing and seeds nothing", async () => {
      await withDatabase(engine, async (database) => {
        await prepareDatabase(database.store);
        assert.deepEqual(await migrateToLatest(database.store), { wasEmpty: false, applied: [] });
        assert.deepEqual(await prepareDatabase(database.store), { seeded: false, applied: [] });
        assert.equal(await count(database, "person"), 3);
        assert.equal(await count(database, "note"), 7);
      });
    });

    test("a second server starting on the same database neither migrates nor seeds again", async () => {
      await withDatabase(engine, async (database) => {
        await prepareDatabase(database.store);
        const another = database.openAnother();
        assert.deepEqual(await prepareDatabase(another), { seeded: false, applied: [] });
        assert.equal(await count(database, "person"), 3);
      });
    });

    test("an emptied database is built again from nothing", async () => {
      await withDatabase(engine, async (database) => {
        await prepareDatabase(database.store);
        await database.store.db.deleteFrom("note").execute();
        await dropAll(database.store);
        assert.deepEqual(await prepareDatabase(database.store), { seeded: true, applied: EVERY_MIGRATION });
        assert.equal(await count(database, "note"), 7);
      });
    });

    test("a database made by the first migration keeps its data and its totals through the later ones", async () => {
      await withDatabase(engine, async (database) => {
        const { store } = database;
        const { error } = await (await migrator(store)).migrateTo("001_initial");
        assert.equal(error, undefined);
        await seedTutorialData(store);
        assert.deepEqual(await migrateToLatest(store), { wasEmpty: false, applied: EVERY_MIGRATION.slice(1) });
        assert.equal(await countPeople(store), 3);
        assert.equal(await countNotes(store), 7);
        assert.deepEqual(
          await Promise.all([1, 2, 3].map((personId) => countNotesOfPerson(store, personId))),
          [3, 2, 2],
        );
        const person = await store.db
          .selectFrom("person")
          .select("version")
          .where("person_id", "=", 1)
          .executeTakeFirst();
        assert.equal(person?.version, 1);
      });
    });

    test("changes recorded before the change row named its resource keep their revisions and get their resource", async () => {
      await withDatabase(engine, async (database) => {
        const { store } = database;
        // The last migration before the change row named its resource.
        const { error } = await (await migrator(store)).migrateTo("009_note_search_words");
        assert.equal(error, undefined);
        await seedTutorialData(store);
        const at = "2024-01-01T00:00:00.000Z";
        for (const [kind, personId, noteId] of [
          ["person.updated", 2, null],
          ["note.created", 1, 3],
          ["note.deleted", 1, 5],
        ] as const) {
          await sql`insert into change (kind, person_id, note_id, data, recorded_at)
                    values (${kind}, ${personId}, ${noteId}, '{}', ${at})`.execute(store.db);
        }
        // The newest is pruned: its revision must not be handed out again.
        await sql`delete from change where revision = 3`.execute(store.db);
        await sql`update feed_horizon set pruned_through = 3`.execute(store.db);

        assert.deepEqual(await migrateToLatest(store), {
          wasEmpty: false,
          applied: [
            "010_change_resource",
            "011_accounts",
            "012_passkeys",
            "013_note_search_text",
            "014_note_history",
            "015_trash",
            "016_webhooks",
          ],
        });
        const { rows } = await changesAfter(store, 0, 10);
        assert.deepEqual(
          rows.map((row) => [row.revision, row.kind, row.person_id, row.resource_id]),
          [
            [1, "person.updated", 2, 2],
            [2, "note.created", 1, 3],
          ],
        );
        const next = await store.transaction((tx) =>
          recordChange(tx, { kind: "comment.created", person_id: 1, resource_id: 1, data: "{}", recorded_at: at }),
        );
        assert.equal(next, 4);
        const table = (await store.db.introspection.getTables()).find((t) => t.name === "change");
        const column = table?.columns.find((c) => c.name === "resource_id");
        assert.equal(column?.isNullable, false);
        assert.equal(
          table?.columns.some((c) => c.name === "note_id"),
          false,
        );
        assert.ok((await indexNames(database)).includes("change_recorded_at"));
      });
    });

    test("notes written before search read their words get them: link addresses leave the index", async () => {
      await withDatabase(engine, async (database) => {
        const { store } = database;
        const { error } = await (await migrator(store)).migrateTo("012_passkeys");
        assert.equal(error, undefined);
        await seedTutorialData(store);
        const content =
          "Read **the manual** at [docs](https://manual.example.org/guide), [more](handbook) and `npm help`";
        await sql`insert into note (person_id, content, timestamp)
                  values (1, ${content}, '2024-01-01T00:00:00.000Z')`.execute(store.db);

        assert.deepEqual(await migrateToLatest(store), {
          wasEmpty: false,
          applied: ["013_note_search_text", "014_note_history", "015_trash", "016_webhooks"],
        });
        const matches = async (text: string) => {
          const query = parseQuery(text);
          assert.ok(query);
          return countMatches(store, engine === "sqlite" ? fts5Expression(query) : tsqueryTexts(query));
        };
        for (const words of ["manual", "docs", "npm help", "read manual docs"])
          assert.equal(await matches(words), 1, words);
        for (const words of ["https", "guide", "org", "manual example", "handbook"])
          assert.equal(await matches(words), 0, words);
        // Every note has its text now, the tutorial's too; the content is as it was.
        const rows = await store.db.selectFrom("note").select(["content", "search_text"]).orderBy("note_id").execute();
        assert.equal(rows.length, 8);
        assert.deepEqual(rows.at(-1), { content, search_text: "Read the manual at docs, more and npm help" });
        for (const row of rows.slice(0, -1)) assert.equal(row.search_text, row.content);
        assert.equal(await matches("useful"), 2);
      });
    });

    test("every list order and the name rule have an index", async () => {
      await withDatabase(engine, async (database) => {
        await prepareDatabase(database.store);
        const names = await indexNames(database);
        for (const name of ["person_name_unique", "person_list_order", "note_list_order", "note_person_order"]) {
          assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
        }
      });
    });
  });
}

describe("migrations (postgres, several schemas on one server)", () => {
  test("each schema gets its own tables and migration history", async () => {
    const first = await createDatabase("postgres");
    const second = await createDatabase("postgres");
    try {
      assert.equal((await prepareDatabase(first.store)).seeded, true);
      assert.deepEqual(await prepareDatabase(second.store), { seeded: true, applied: EVERY_MIGRATION });
      await second.store.db.deleteFrom("note").execute();
      assert.equal(await count(first, "note"), 7);
      assert.equal(await count(second, "note"), 0);
    } finally {
      await Promise.all([first.destroy(), second.destroy()]);
    }
  });
});

describe("migrations (postgres, other schemas dropped meanwhile)", () => {
  test("a migrator sees only its own schema, so schemas dropped meanwhile cannot fail it", async () => {
    const database = await createDatabase("postgres");
    let migrating = true;
    // Another session creates and drops schemas (as other test runs and other copies of the service do)
    // for as long as the migrator runs.
    const dropping = withAdmin(async (client) => {
      for (let i = 0; i < 2_000 && migrating; i++) {
        const schema = `dropped_${process.pid}_${i}`;
        await client.query(`create schema ${schema}`);
        await client.query(
          `create table ${schema}.t (id integer generated by default as identity primary key, a text)`,
        );
        await client.query(`drop schema ${schema} cascade`);
      }
    });
    try {
      assert.equal((await migrateToLatest(database.store)).wasEmpty, true);
      for (let run = 0; run < 40; run++) {
        assert.deepEqual(await migrateToLatest(database.store), { wasEmpty: false, applied: [] });
      }
    } finally {
      migrating = false;
      await dropping;
      await database.destroy();
    }
  });

  test("the store's introspection describes its own schema's tables only", async () => {
    const [database, other] = [await createDatabase("postgres"), await createDatabase("postgres")];
    try {
      await Promise.all([prepareDatabase(database.store), prepareDatabase(other.store)]);
      const { db } = database.store;
      const { rows } = await sql<{ schema: string; table: string }>`
        select schemaname as schema, tablename as table from pg_tables
        where schemaname = current_schema() order by tablename`.execute(db);
      const withInternal = await db.introspection.getTables({ withInternalKyselyTables: true });
      assert.deepEqual(
        withInternal.map(({ schema, name }) => ({ schema, table: name })),
        rows,
      );
      const tables = await db.introspection.getTables();
      assert.deepEqual(
        tables.map((table) => table.name),
        rows.map((row) => row.table).filter((name) => !name.startsWith("kysely_")),
      );
      const person = tables.find((table) => table.name === "person");
      assert.deepEqual(person?.columns.slice(0, 2), [
        {
          name: "person_id",
          dataType: "int8",
          dataTypeSchema: "pg_catalog",
          isAutoIncrementing: true,
          isNullable: false,
          hasDefaultValue: false,
          comment: undefined,
        },
        {
          name: "fname",
          dataType: "text",
          dataTypeSchema: "pg_catalog",
          isAutoIncrementing: false,
          isNullable: false,
          hasDefaultValue: false,
          comment: undefined,
        },
      ]);
    } finally {
      await Promise.all([database.destroy(), other.destroy()]);
    }
  });
});

describe("the migration lock (postgres)", () => {
  const lockOptions = { lockTable: "kysely_migration_lock", lockRowId: "migration_lock" };

  /** Whether a session waits for the migration lock of `schema` (its key: our space, the schema's hash). */
  async function someoneWaitsFor(schema: string): Promise<boolean> {
    return withAdmin(async (client) => {
      const { rows } = await client.query(
        `select count(*)::int as n from pg_locks
          where locktype = 'advisory' and not granted and objsubid = 2 and objid = hashtext($1)::oid`,
        [schema],
      );
      return rows[0].n > 0;
    });
  }

  test("is the schema's own: a migration waits for one on its own schema, never for another schema's", async () => {
    const held = await createDatabase("postgres");
    const other = await createDatabase("postgres");
    try {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(held.store.db);
      const schema = rows[0]?.schema ?? "";
      const { adapter } = held.store.db.getExecutor();
      let locked!: () => void;
      let release!: () => void;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Holds the lock as a migration of `held`'s schema does, until released.
      const holding = held.store.db.connection().execute(async (connection) => {
        await adapter.acquireMigrationLock(connection, lockOptions);
        locked();
        await released;
        await adapter.releaseMigrationLock(connection, lockOptions);
      });
      try {
        await isLocked;
        assert.deepEqual(await prepareDatabase(other.store), { seeded: true, applied: EVERY_MIGRATION });

        let finished = false;
        const same = held.openAnother();
        const migrating = prepareDatabase(same).finally(() => {
          finished = true;
        });
        let waiting = false;
        for (let i = 0; i < 200 && !waiting && !finished; i++) {
          waiting = await someoneWaitsFor(schema);
        }
        assert.ok(waiting, "a migration of the same schema waits for the lock");
        assert.equal(finished, false);
        release();
        assert.deepEqual(await migrating, { seeded: true, applied: EVERY_MIGRATION });
      } finally {
        release();
        await holding;
      }
    } finally {
      await Promise.all([held.destroy(), other.destroy()]);
    }
  });
});
