import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { migrateToLatest } from "../../src/db/database.js";
import { prepareQuery } from "../../src/db/prepared.js";
import { createDatabase, engines, insertNotes, insertPeople, type TestDatabase } from "../support/app.js";

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
      const { db, runner } = database.store;
      const notesOf = prepareQuery(runner, (personId: number, limit: number) =>
        db.selectFrom("note").select("note_id").where("person_id", "=", personId).orderBy("note_id").limit(limit),
      );
      assert.deepEqual((await notesOf(1, 10)).rows, [{ note_id: 1 }, { note_id: 2 }]);
      assert.deepEqual((await notesOf(1, 1)).rows, [{ note_id: 1 }]);
      assert.deepEqual((await notesOf(2, 10)).rows, []);
    });

    test("first() gives the first row of the result, or undefined when there is none", async () => {
      const { db, runner } = database.store;
      const notesOf = prepareQuery(runner, (personId: number) =>
        db.selectFrom("note").select("note_id").where("person_id", "=", personId).orderBy("note_id", "desc"),
      );
      assert.deepEqual(await notesOf.first(1), { note_id: 2 });
      assert.equal(await notesOf.first(2), undefined);
    });

    test("values written into the query itself stay as they are", async () => {
      const { db, runner } = database.store;
      const named = prepareQuery(runner, (fname: string) =>
        db.selectFrom("person").select("lname").where("fname", "=", fname).where("lname", "!=", "Nobody"),
      );
      assert.deepEqual((await named("Alan")).rows, [{ lname: "Turing" }]);
      assert.deepEqual((await named("Ada")).rows, [{ lname: "Lovelace" }]);
    });

    test("writes report the rows they changed", async () => {
      const { db, runner } = database.store;
      const rename = prepareQuery(runner, (personId: number, fname: string) =>
        db.updateTable("person").set({ fname }).where("person_id", "=", personId),
      );
      assert.equal(Number((await rename(2, "Alan M.")).numAffectedRows), 1);
      assert.equal(Number((await rename(99, "Nobody")).numAffectedRows), 0);
    });

    test("the store's runner answers exactly as Kysely itself does", async () => {
      const { db, runner } = database.store;
      const read = db.selectFrom("person").select(["person_id", "fname"]).orderBy("person_id").compile();
      assert.deepEqual(await runner.executeQuery(read), await db.executeQuery(read));

      const insert = (content: string) =>
        db
          .insertInto("note")
          .values({ person_id: 2, content, timestamp: "2022-01-01T00:00:00.000Z" })
          .returning(["note_id", "content"])
          .compile();
      const byRunner = await runner.executeQuery(insert("first"));
      const byKysely = await db.executeQuery(insert("second"));
      assert.deepEqual(byRunner.rows, [{ note_id: 3, content: "first" }]);
      assert.deepEqual(byKysely.rows, [{ note_id: 4, content: "second" }]);

      const remove = (noteId: number) => db.deleteFrom("note").where("note_id", "=", noteId).compile();
      assert.equal(Number((await runner.executeQuery(remove(3))).numAffectedRows), 1);
      assert.equal(Number((await db.executeQuery(remove(4))).numAffectedRows), 1);
      assert.equal(Number((await runner.executeQuery(remove(3))).numAffectedRows), 0);
    });
  });
}
