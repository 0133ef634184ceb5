import { migrateToLatest, type Store } from "./database.js";
import { isUniqueViolation } from "./errors.js";
import { seedTutorialData } from "./seed.js";

/** Start-up: bring the schema up to date, and give a database that was just created the tutorial's data. */
export async function prepareDatabase(store: Store): Promise<{ seeded: boolean; applied: string[] }> {
  const report = await migrateToLatest(store);
  if (!report.wasEmpty) return { seeded: false, applied: report.applied };
  try {
    await seedTutorialData(store);
    return { seeded: true, applied: report.applied };
  } catch (error) {
    // Several processes starting on one new database: the first seeds, the others' transactions roll back.
    if (isUniqueViolation(error)) return { seeded: false, applied: report.applied };
    throw error;
  }
}
