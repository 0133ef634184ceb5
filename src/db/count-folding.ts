import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseUnavailableError } from "./errors.js";
import type { UnitOfWork } from "./executor.js";
import type { StoreLog } from "./log.js";
import { foldNoteCounts } from "./notes-repository.js";

/** Notes inserted since the last fold are counted live; a fold a second keeps them few. */
export const FOLD_INTERVAL_MS = 1_000;

export interface CountFolding {
  /**
   * Stops folding. A fold under way is not waited for: it finishes or fails on its own, and a
   * database that does not answer must not hold up a shutdown.
   */
  stop(): void;
}

/**
 * Folds the notes counted live into the kept counts every `intervalMs`, on PostgreSQL (on SQLite
 * there is nothing to fold). A fold that finds the database busy or away is simply tried again
 * next time; any other failure is logged once, until a fold succeeds again.
 */
export function foldCountsPeriodically(
  store: UnitOfWork,
  log: StoreLog,
  intervalMs: number = FOLD_INTERVAL_MS,
): CountFolding {
  if (store.engine !== "postgres") return { stop: () => {} };
  const stopped = new AbortController();
  let reported = false;
  void (async () => {
    while (!stopped.signal.aborted) {
      try {
        await sleep(intervalMs, undefined, { signal: stopped.signal, ref: false });
      } catch {
        return;
      }
      try {
        await foldNoteCounts(store);
        reported = false;
      } catch (error) {
        if (!(error instanceof DatabaseUnavailableError) && !reported) {
          reported = true;
          log.warn(
            { err: error },
            "could not fold the note counts; the totals stay exact, and reading them costs more",
          );
        }
      }
    }
  })();
  return {
    stop: () => stopped.abort(),
  };
}
