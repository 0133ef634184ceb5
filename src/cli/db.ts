import { ConfigError, loadConfig } from "../config.js";
import { dropAll, migrateToLatest, openStore, type Store } from "../db/database.js";
import { isUniqueViolation } from "../db/errors.js";
import { seedTutorialData } from "../db/seed.js";
import type { Command } from "./command.js";
import { io, printLine } from "./io.js";

/** A command on the database named by DATABASE_URL; its result is the line printed on success. */
function onConfiguredStore(summary: string, work: (store: Store) => Promise<string>): Command {
  return {
    summary,
    async run() {
      const store = openStore(loadConfig(io().env).database);
      try {
        printLine(`people-notes: ${await work(store)}`);
        return 0;
      } finally {
        await store.close();
      }
    },
  };
}

export const build = onConfiguredStore(
  "drop every table, then migrate and seed the tutorial's data (like build_database.py)",
  async (store) => {
    await dropAll(store);
    await migrateToLatest(store);
    await seedTutorialData(store);
    return "database rebuilt and seeded with the tutorial's data";
  },
);

export const migrate = onConfiguredStore("apply pending migrations", async (store) => {
  const { applied } = await migrateToLatest(store);
  return applied.length > 0 ? `applied ${applied.join(", ")}` : "already up to date";
});

export const seed = onConfiguredStore("add the tutorial's people and notes", async (store) => {
  await migrateToLatest(store);
  try {
    await seedTutorialData(store);
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConfigError("the tutorial's people are there already; use `db build` to start over");
    throw error;
  }
  return "seeded the tutorial's data";
});
