import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseUnavailableError } from "./errors.js";

/** Background work run every so often (folding counts, purging the trash). */
export interface Periodic {
  /**
   * Stops it. A run under way is not waited for: it finishes or fails on its own, and a database
   * that does not answer must not hold up a shutdown.
   */
  stop(): void;
}

/**
 * Runs `work` every `intervalMs`, one run at a time, until stopped; its timer keeps no process
 * alive. A run that finds the database busy or away is simply tried again next time; any other
 * failure goes to `failed` once, until a run succeeds again.
 */
export function runPeriodically(
  intervalMs: number,
  work: () => Promise<unknown>,
  failed: (error: unknown) => void,
): Periodic {
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
        await work();
        reported = false;
      } catch (error) {
        if (!(error instanceof DatabaseUnavailableError) && !reported) {
          reported = true;
          failed(error);
        }
      }
    }
  })();
  return { stop: () => stopped.abort() };
}
