import type { Store } from "./database.js";
import { nameKey } from "./names.js";

/** The tutorial's people and notes (build_database.py), with its 2019 note timestamps in UTC. */
export const TUTORIAL_PEOPLE = [
  {
    fname: "Doug",
    lname: "Farrell",
    notes: [
      ["Cool, a mini-blogging application!", "2019-01-06T22:17:54.000Z"],
      ["This could be useful", "2019-01-08T22:17:54.000Z"],
      ["Well, sort of useful", "2019-03-06T22:17:54.000Z"],
    ],
  },
  {
    fname: "Kent",
    lname: "Brockman",
    notes: [
      ["I'm going to make really profound observations", "2019-01-07T22:17:54.000Z"],
      ["Maybe they'll be more obvious than I thought", "2019-02-06T22:17:54.000Z"],
    ],
  },
  {
    fname: "Bunny",
    lname: "Easter",
    notes: [
      ["Has anyone seen my Easter eggs?", "2019-01-07T22:47:54.000Z"],
      ["I'm really late delivering these!", "2019-04-06T22:17:54.000Z"],
    ],
  },
] as const;

/** Inserts the tutorial's data in one transaction; people get the time of seeding as their timestamp. */
export async function seedTutorialData(store: Store, now = new Date().toISOString()): Promise<void> {
  await store.db.transaction().execute(async (tx) => {
    for (const person of TUTORIAL_PEOPLE) {
      const { person_id } = await tx
        .insertInto("person")
        .values({
          fname: person.fname,
          lname: person.lname,
          fname_key: nameKey(person.fname),
          lname_key: nameKey(person.lname),
          timestamp: now,
        })
        .returning("person_id")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("note")
        .values(person.notes.map(([content, timestamp]) => ({ person_id, content, timestamp })))
        .execute();
    }
  });
}
