import type { UnitOfWork } from "./executor.js";
import type { StoreLog } from "./log.js";
import { foldNoteCounts } from "./notes-repository.js";
import { type Periodic, runPeriodically } from "./periodic.js";

/** Notes inserted since the last fold are counted live; a fold a second keeps them few. */
export const FOLD_INTERVAL_MS = 1_000;

/**
 * Folds the notes counted live into the kept counts every `intervalMs`, on PostgreSQL (on SQLite
 * there is nothing to fold). A fold that finds the database busy or away is simply tried again
 * next time; any other failure is logged once, until a fold succeeds again.
 */
export function foldCountsPeriodically(
  store: UnitOfWork,
  log: StoreLog,
  intervalMs: number = FOLD_INTERVAL_MS,
): Periodic {
  if (store.engine !== "postgres") return { stop: () => {} };
  return runPeriodically(
    intervalMs,
    () => foldNoteCounts(store),
    (error) =>
      log.warn({ err: error }, "could not fold the note counts; the totals stay exact, and reading them costs more"),
  );
}
