import pino from "pino";

/** Where the batched lines go. */
export interface LineSink {
  write(text: string): void;
}

/**
 * Log lines are written once per turn of the event loop. Under load one turn answers many
 * requests, so their lines leave in one system call instead of one each (pino's default stream
 * hands every line to a worker thread, which costs more than the line). A line is written as soon
 * as the turn that logged it ends, and what is pending is written before the process exits.
 */
export class TurnBatchedDestination {
  readonly #sink: LineSink;
  #pending: string[] = [];
  #scheduled = false;

  constructor(sink: LineSink) {
    this.#sink = sink;
    process.on("exit", () => this.flush());
  }

  write(line: string): void {
    this.#pending.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushTurn);
    }
  }

  /** Writes every pending line now; `logger.flush(done)` ends up here. */
  flush(done?: () => void): void {
    if (this.#pending.length > 0) {
      const text = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join("");
      this.#pending = [];
      this.#sink.write(text);
    }
    done?.();
  }

  /** pino's name for the same, used when it must write before the process dies. */
  flushSync(): void {
    this.flush();
  }

  readonly #flushTurn = () => {
    this.#scheduled = false;
    this.flush();
  };
}

/** Standard output, written synchronously (retrying when a pipe is full) in per-turn batches. */
export function stdoutDestination(): TurnBatchedDestination {
  return new TurnBatchedDestination(pino.destination({ dest: 1, sync: true }));
}
