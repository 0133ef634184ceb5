import type { FastifyInstance } from "fastify";

/** Whether the process is shutting down; readiness and every response follow it. */
export class Lifecycle {
  #draining = false;
  readonly #onDraining: Array<() => void> = [];

  get draining(): boolean {
    return this.#draining;
  }

  /** From now on readiness says 503 and every response asks its client to close the connection. */
  startDraining(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const listener of this.#onDraining) listener();
  }

  /** Runs `listener` when draining starts: what would hold the drain up (open streams) ends then. */
  onDraining(listener: () => void): void {
    this.#onDraining.push(listener);
  }
}

export function registerLifecycle(app: FastifyInstance, lifecycle: Lifecycle): void {
  // At sending time, so that requests already running when the drain began are covered too: a
  // client's next request then goes to a new connection, to a process that is staying up.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (lifecycle.draining) reply.header("connection", "close");
    done(null, payload);
  });
}
