import { migrateToLatest, type Store } from "./database.js";
import { seedTutorialData } from "./seed.js";

/** Start-up: bring the schema up to date, and give a database that was just created the tutorial's data. */
export async function prepareDatabase(store: Store): Promise<{ seeded: boolean; applied: string[] }> {
  const report = await migrateToLatest(store);
  if (report.wasEmpty) await seedTutorialData(store);
  return { seeded: report.wasEmpty, applied: report.applied };
}
