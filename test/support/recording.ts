import type { CompiledQuery } from "kysely";
import type { Store } from "../../src/db/database.js";
import type { Executor } from "../../src/db/executor.js";

/** The store, noting every query that runs through it, in transactions too. */
export function recording(store: Store, recorded: CompiledQuery[]): Store {
  const record = (executor: Executor): Executor => ({
    engine: executor.engine,
    executeQuery(query) {
      recorded.push(query);
      return executor.executeQuery(query);
    },
    executeQueryFirst(query) {
      recorded.push(query);
      return executor.executeQueryFirst(query);
    },
  });
  return { ...store, ...record(store), transaction: (work) => store.transaction((tx) => work(record(tx))) };
}
