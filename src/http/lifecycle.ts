import type { FastifyInstance } from "fastify";

/** Whether the process is shutting down; readiness and every response follow it. */
export class Lifecycle {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** From now on readiness says 503 and every response asks its client to close the connection. */
  startDraining(): void {
    this.#draining = true;
  }
}

export function registerLifecycle(app: FastifyInstance, lifecycle: Lifecycle): void {
  app.addHook("onRequest", (_request, reply, done) => {
    // So that a client's next request goes to a new connection, to a process that is staying up.
    if (lifecycle.draining) reply.header("connection", "close");
    done();
  });
}
