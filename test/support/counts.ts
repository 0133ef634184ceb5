import type { Store } from "../../src/db/database.js";

/** The trigger-kept totals, next to the real row counts, for the tables and for each person. */
export async function totals(store: Store) {
  const { db } = store;
  const kept = await db
    .selectFrom("table_count")
    .select(["name", (eb) => eb.fn.sum<number | string>("value").as("total")])
    .groupBy("name")
    .execute();
  const real = async (table: "person" | "note") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const keptPerPerson = await db
    .selectFrom("person_note_count")
    .select(["person_id", (eb) => eb.fn.sum<number | string>("value").as("total")])
    .groupBy("person_id")
    .having((eb) => eb.fn.sum("value"), "!=", 0)
    .orderBy("person_id")
    .execute();
  const realPerPerson = await db
    .selectFrom("note")
    .select(["person_id", (eb) => eb.fn.countAll<number | string>().as("total")])
    .groupBy("person_id")
    .orderBy("person_id")
    .execute();
  const numbers = (rows: { person_id: number; total: number | string }[]) =>
    rows.map((row) => [Number(row.person_id), Number(row.total)]);
  return {
    kept: Object.fromEntries(kept.map((row) => [row.name, Number(row.total)])),
    real: { person: await real("person"), note: await real("note") },
    keptPerPerson: numbers(keptPerPerson),
    realPerPerson: numbers(realPerPerson),
  };
}
