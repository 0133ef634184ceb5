#!/usr/bin/env node
import { ConfigError, loadConfig } from "./config.js";
import { dropAll, migrateToLatest, openStore, type Store } from "./db/database.js";
import { isUniqueViolation } from "./db/errors.js";
import { seedTutorialData } from "./db/seed.js";

const USAGE = `Usage: people-notes db <command>

Commands:
  build     drop every table, then migrate and seed the tutorial's data (like build_database.py)
  migrate   apply pending migrations
  seed      add the tutorial's people and notes

The database is DATABASE_URL (default sqlite:./people.db).`;

const commands: Record<string, (store: Store) => Promise<string>> = {
  async build(store) {
    await dropAll(store);
    await migrateToLatest(store);
    await seedTutorialData(store);
    return "database rebuilt and seeded with the tutorial's data";
  },
  async migrate(store) {
    const { applied } = await migrateToLatest(store);
    return applied.length > 0 ? `applied ${applied.join(", ")}` : "already up to date";
  },
  async seed(store) {
    await migrateToLatest(store);
    try {
      await seedTutorialData(store);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConfigError("the tutorial's people are there already; use `db build` to start over");
      throw error;
    }
    return "seeded the tutorial's data";
  },
};

async function main(argv: string[]): Promise<number> {
  const [group, name] = argv;
  const command = group === "db" && name ? commands[name] : undefined;
  if (!command) {
    console.error(USAGE);
    return argv.includes("--help") || argv.includes("-h") ? 0 : 2;
  }
  const config = loadConfig();
  const store = openStore(config.database);
  try {
    console.log(`people-notes: ${await command(store)}`);
    return 0;
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`people-notes: ${error instanceof ConfigError ? error.message : error}`);
    process.exitCode = 1;
  },
);
