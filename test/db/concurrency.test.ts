import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Store } from "../../src/db/database.js";
import { isForeignKeyViolation, isUniqueViolation } from "../../src/db/errors.js";
import { nameKey } from "../../src/db/names.js";
import { appOn, engines, type Person, useApp } from "../support/app.js";

async function peopleNamed(store: Store, lname: string): Promise<number> {
  const rows = await store.db
    .selectFrom("person")
    .select("person_id")
    .where("lname_key", "=", nameKey(lname))
    .execute();
  return rows.length;
}

for (const engine of engines()) {
  describe(`unique names under concurrency (${engine})`, () => {
    const api = useApp(engine);

    test("two simultaneous identical POSTs give one 201 and one 409, never two rows", async () => {
      const body = { fname: "Twin", lname: "Request" };
      const responses = await Promise.all([api.post("/api/people", body), api.post("/api/people", body)]);
      assert.deepEqual(responses.map((r) => r.statusCode).sort(), [201, 409]);
      const conflict = responses.find((r) => r.statusCode === 409);
      assert.equal(conflict?.json().detail, "Twin Request already exists");
      assert.equal(await peopleNamed(api.store, "Request"), 1);
    });

    test("many simultaneous POSTs of one name in different spellings create exactly one person", async () => {
      const spellings = ["Many Ways", "many ways", "MANY WAYS", " Many  Ways ", "many Ways", "Many ways"];
      const responses = await Promise.all(spellings.map((lname) => api.post("/api/people", { fname: "Said", lname })));
      const statuses = responses.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(","));
      assert.equal(statuses.filter((s) => s === 409).length, spellings.length - 1);
      assert.equal(await peopleNamed(api.store, "many ways"), 1);
      // Every refusal names the one person stored, spelled as stored.
      const stored = responses.find((r) => r.statusCode === 201)?.json<{ lname: string }>().lname;
      const details = responses.filter((r) => r.statusCode === 409).map((r) => r.json().detail);
      assert.deepEqual(new Set(details), new Set([`Said ${stored} already exists`]));
    });

    test("two servers on one database, each POSTing the same name, create one person", async () => {
      const second = await appOn(api.current.database, api.current.database.openAnother());
      try {
        const body = { fname: "Two", lname: "Servers" };
        const responses = await Promise.all([
          api.post("/api/people", body),
          second.inject({ method: "POST", url: "/api/people", payload: body }),
        ]);
        assert.deepEqual(responses.map((r) => r.statusCode).sort(), [201, 409]);
        assert.equal(await peopleNamed(api.store, "Servers"), 1);
      } finally {
        await second.app.close();
      }
    });

    test("two simultaneous renames to one name: one wins, the other is 409", async () => {
      const [a, b] = [await api.createSomeone(), await api.createSomeone()];
      const body = { fname: "Renamed", lname: "Together" };
      const responses = await Promise.all([
        api.put(`/api/people/${a.person_id}`, body),
        api.put(`/api/people/${b.person_id}`, body),
      ]);
      assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 409]);
      assert.equal(await peopleNamed(api.store, "Together"), 1);
      const loser = responses[0]?.statusCode === 409 ? a : b;
      assert.deepEqual((await api.get(`/api/people/${loser.person_id}`)).json<Person>().lname, loser.lname);
    });

    test("the database itself refuses a second row with the same name", async () => {
      const row = { fname: "Doug", lname: "Farrell", timestamp: "2020-01-01T00:00:00.000Z" };
      await assert.rejects(
        api.store.db
          .insertInto("person")
          .values({ ...row, fname_key: nameKey("DOUG"), lname_key: nameKey("farrell") })
          .execute(),
        (error) => isUniqueViolation(error),
      );
    });

    test("the database itself refuses a note for a person who does not exist", async () => {
      await assert.rejects(
        api.store.db
          .insertInto("note")
          .values({ person_id: 999_999, content: "Orphan", timestamp: "2020-01-01T00:00:00.000Z" })
          .execute(),
        (error) => isForeignKeyViolation(error),
      );
    });
  });
}
