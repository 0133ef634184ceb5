import type { Store } from "../../src/db/database.js";
import { countNotes, countNotesOfPerson } from "../../src/db/notes-repository.js";
import { countPeople } from "../../src/db/people-repository.js";

/**
 * The totals the service reports (from its kept counts), next to the real row counts, for the
 * tables and for each person.
 */
export async function totals(store: Store) {
  const { db } = store;
  const kept = { person: await countPeople(store), note: await countNotes(store) };
  const real = async (table: "person" | "note") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const people = await db.selectFrom("person").select("person_id").orderBy("person_id").execute();
  const keptPerPerson: [number, number][] = [];
  for (const { person_id } of people) {
    const count = await countNotesOfPerson(store, person_id);
    if (count !== 0) keptPerPerson.push([person_id, count]);
  }
  const realPerPerson = await db
    .selectFrom("note")
    .select(["person_id", (eb) => eb.fn.countAll<number | string>().as("total")])
    .groupBy("person_id")
    .orderBy("person_id")
    .execute();
  const numbers = (rows: { person_id: number; total: number | string }[]) =>
    rows.map((row) => [Number(row.person_id), Number(row.total)]);
  return {
    kept,
    real: { person: await real("person"), note: await real("note") },
    keptPerPerson,
    realPerPerson: numbers(realPerPerson),
  };
}
