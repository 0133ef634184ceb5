import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { migrateToLatest } from "../../src/db/database.js";
import { prepareQuery } from "../../src/db/executor.js";
import { StatementNames } from "../../src/db/postgres.js";
import { createDatabase, engines, insertNotes, insertPeople, type TestDatabase } from "../support/app.js";

const notesOf = prepareQuery((db, personId: number, limit: number) =>
  db.selectFrom("note").select("note_id").where("person_id", "=", personId).orderBy("note_id").limit(limit),
);
const newestOf = prepareQuery((db, personId: number) =>
  db.selectFrom("note").select("note_id").where("person_id", "=", personId).orderBy("note_id", "desc"),
);
const named = prepareQuery((db, fname: string) =>
  db.selectFrom("person").select("lname").where("fname", "=", fname).where("lname", "!=", "Nobody"),
);
const rename = prepareQuery((db, personId: number, fname: string) =>
  db.updateTable("person").set({ fname }).where("person_id", "=", personId),
);
const perEngine = prepareQuery({
  sqlite: (db) =>
    db
      .selectFrom("person")
      .select((eb) => eb.val("sqlite").as("engine"))
      .limit(1),
  postgres: (db) =>
    db
      .selectFrom("person")
      .select((eb) => eb.val("postgres").as("engine"))
      .limit(1),
});

for (const engine of engines()) {
  describe(`queries compiled once (${engine})`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createDatabase(engine);
      await migrateToLatest(database.store);
      await insertPeople(database.store, [
        ["Ada", "Lovelace"],
        ["Alan", "Turing"],
      ]);
      await insertNotes(database.store, 1, ["2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"]);
    });
    after(() => database.destroy());

    test("each call runs with its own arguments, in whatever order the SQL uses them", async () => {
      const { store } = database;
      assert.deepEqual((await notesOf.run(store, 1, 10)).rows, [{ note_id: 1 }, { note_id: 2 }]);
      assert.deepEqual((await notesOf.run(store, 1, 1)).rows, [{ note_id: 1 }]);
      assert.deepEqual((await notesOf.run(store, 2, 10)).rows, []);
    });

    test("first() gives the first row of the result, or undefined when there is none", async () => {
      assert.deepEqual(await newestOf.first(database.store, 1), { note_id: 2 });
      assert.equal(await newestOf.first(database.store, 2), undefined);
    });

    test("values written into the query itself stay as they are", async () => {
      assert.deepEqual((await named.run(database.store, "Alan")).rows, [{ lname: "Turing" }]);
      assert.deepEqual((await named.run(database.store, "Ada")).rows, [{ lname: "Lovelace" }]);
    });

    test("writes report the rows they changed", async () => {
      assert.equal(Number((await rename.run(database.store, 2, "Alan")).numAffectedRows), 1);
      assert.equal(Number((await rename.run(database.store, 99, "Nobody")).numAffectedRows), 0);
    });

    test("a query may have one shape per engine, and each engine runs its own", async () => {
      assert.deepEqual(await perEngine.first(database.store), { engine });
    });

    test("the store answers exactly as Kysely itself does", async () => {
      const { db } = database.store;
      const store = database.store;
      const read = db.selectFrom("person").select(["person_id", "fname"]).orderBy("person_id").compile();
      assert.deepEqual(await store.executeQuery(read), await db.executeQuery(read));

      const insert = (content: string) =>
        db
          .insertInto("note")
          .values({ person_id: 2, content, timestamp: "2022-01-01T00:00:00.000Z" })
          .returning(["note_id", "content"])
          .compile();
      const byStore = await store.executeQuery(insert("first"));
      const byKysely = await db.executeQuery(insert("second"));
      assert.deepEqual(byStore.rows, [{ note_id: 3, content: "first" }]);
      assert.deepEqual(byKysely.rows, [{ note_id: 4, content: "second" }]);

      const remove = (noteId: number) => db.deleteFrom("note").where("note_id", "=", noteId).compile();
      assert.equal(Number((await store.executeQuery(remove(3))).numAffectedRows), 1);
      assert.equal(Number((await db.executeQuery(remove(4))).numAffectedRows), 1);
      assert.equal(Number((await store.executeQuery(remove(3))).numAffectedRows), 0);
    });
  });
}

describe("statements prepared on the server (postgres)", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createDatabase("postgres");
    await migrateToLatest(database.store);
    await insertPeople(database.store, [["Ada", "Lovelace"]]);
  });
  after(() => database.destroy());

  test("a repository's query is parsed once per connection and then run by name", async () => {
    const prepared = await database.store.transaction(async (tx) => {
      await named.run(tx, "Ada");
      await named.run(tx, "Alan");
      const statements = prepareQuery((db) =>
        db
          .selectFrom(sql<{ name: string; statement: string }>`pg_prepared_statements`.as("s"))
          .select(["s.name", "s.statement"]),
      );
      return (await statements.run(tx)).rows;
    });
    const mine = prepared.filter((row) => row.statement.includes('"lname" != $2'));
    assert.equal(mine.length, 1, JSON.stringify(prepared));
    assert.match(mine[0]?.name ?? "", /^people_notes_\d+$/);
  });

  test("names are given to a bounded number of texts; the rest run unnamed", () => {
    const names = new StatementNames(2);
    assert.equal(names.nameOf("select 1"), "people_notes_1");
    assert.equal(names.nameOf("select 2"), "people_notes_2");
    assert.equal(names.nameOf("select 1"), "people_notes_1");
    assert.equal(names.nameOf("select 3"), undefined);
  });
});
