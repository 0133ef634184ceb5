import type { FastifyInstance } from "fastify";
import { problem, sendProblem } from "./problems.js";

/** What a client refused because the server is closing waits before trying again (to another process). */
export const CLOSING_RETRY_AFTER_SECONDS = 1;

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

/**
 * Fastify options for closing: its own answer to a request that reaches the routes once the server
 * is closing is a plain JSON 503; registerLifecycle answers it as every other error is answered.
 */
export const LIFECYCLE_OPTIONS = { return503OnClosing: false } as const;

export function registerLifecycle(app: FastifyInstance, lifecycle: Lifecycle): void {
  // Once the app is closing (its listener closed or closing), a request can still arrive on a
  // connection that was not idle when the idle ones were closed (a balancer reusing it as the
  // drain ends): it is refused before any work, so that the client sends it to a process staying up.
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.addHook("onRequest", (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    reply.header("connection", "close").header("retry-after", String(CLOSING_RETRY_AFTER_SECONDS));
    sendProblem(reply, problem(503, "The server is shutting down; send the request again, on a new connection"));
  });
  // At sending time, so that requests already running when the drain began are covered too: a
  // client's next request then goes to a new connection, to a process that is staying up.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (lifecycle.draining) reply.header("connection", "close");
    done(null, payload);
  });
}
