import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseUnavailableError } from "./errors.js";
import type { StoreLog } from "./log.js";

/** Between two probes that failed at once (a refused connection), a pause that grows to this. */
export const PROBE_PAUSE_MS = { first: 100, most: 500 };

export interface BreakerOptions {
  /**
   * One check that the database answers: resolves when it did, rejects (in bounded time) when not,
   * and gives up at once when `signal` aborts.
   */
  probe(signal: AbortSignal): Promise<void>;
  log: StoreLog;
}

/**
 * A circuit breaker for a database that cannot be reached. Closed, every request goes to the
 * database. Once a failure shows it unreachable (`trip`), the breaker opens: requests fail at once
 * (`check`) instead of each waiting out a deadline, while one probe at a time asks whether the
 * database is back; the first that gets an answer closes the breaker again.
 */
export class CircuitBreaker {
  #open = false;
  readonly #stopped = new AbortController();
  #probing: Promise<void> | undefined;
  #cause: unknown;
  #openedAt = 0;

  constructor(private readonly options: BreakerOptions) {}

  get isOpen(): boolean {
    return this.#open;
  }

  /** Throws at once while the database is known to be unreachable. */
  check(): void {
    if (!this.#open) return;
    const seconds = Math.round((Date.now() - this.#openedAt) / 1000);
    throw new DatabaseUnavailableError(`the database has been unreachable for ${seconds} s; nothing was sent to it`, {
      cause: this.#cause,
    });
  }

  /** A failure that shows the database unreachable: opens the breaker and starts probing. */
  trip(cause: unknown): void {
    if (this.#open || this.#stopped.signal.aborted) return;
    this.#open = true;
    this.#cause = cause;
    this.#openedAt = Date.now();
    this.options.log.warn(
      { err: cause },
      "the database is unreachable: requests get 503 at once until a probe finds it answering again",
    );
    this.#probing = this.#probeUntilBack();
  }

  /** Stops probing, a probe in flight included (the store is closing). */
  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#probing;
  }

  async #probeUntilBack(): Promise<void> {
    const { signal } = this.#stopped;
    let pause = PROBE_PAUSE_MS.first;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.options.probe(signal);
        this.#open = false;
        this.options.log.warn(
          { unreachableMs: Date.now() - this.#openedAt },
          "the database answers again: requests go to it again",
        );
        return;
      } catch {
        // Still away. A probe that waited out its deadline is followed at once; a quick refusal after a pause.
      }
      if (Date.now() - started < pause) {
        await sleep(pause, undefined, { signal, ref: false }).catch(() => {});
        pause = Math.min(pause * 2, PROBE_PAUSE_MS.most);
      }
    }
  }
}
