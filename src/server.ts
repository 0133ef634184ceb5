import { setTimeout as sleep } from "node:timers/promises";
import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig, type ShutdownConfig } from "./config.js";
import { openStore, type Store } from "./db/database.js";
import { prepareDatabase } from "./db/setup.js";
import { Lifecycle } from "./http/lifecycle.js";
import { stdoutDestination } from "./http/log-destination.js";

/** After the drain deadline, how long closing the database may take before the process exits anyway. */
const EXIT_MARGIN_MS = 5000;

class DrainCutShort extends Error {
  override name = "DrainCutShort";
}

async function main(): Promise<void> {
  const config = loadConfig();
  const lifecycle = new Lifecycle();
  const destination = stdoutDestination();
  // The store is opened before the app, so its warnings go to a logger of its own on the same stream.
  const storeLog = pino({ level: config.logLevel }, destination);
  const store = openStore(config.database, storeLog);
  const { seeded, applied } = await prepareDatabase(store);
  const app = await buildApp({ store, lifecycle, logger: { level: config.logLevel, stream: destination } });
  app.log.info({ engine: store.engine, migrations: applied, seeded }, "database ready");

  closeWithGrace(
    {
      delay: config.shutdown.timeoutMs + EXIT_MARGIN_MS,
      logger: app.log,
      onSecondSignal: (signal) => {
        app.log.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      },
    },
    async ({ signal, err }) => {
      if (err) app.log.fatal({ err }, "uncaught error: shutting down");
      await shutDown(app, store, lifecycle, config.shutdown, signal);
    },
  );

  await app.listen({ port: config.port, host: config.host });
}

/**
 * Readiness turns 503 at once, so a load balancer stops sending; the listener stays open a moment
 * longer, so that connections already on their way are accepted and answered (closing it would
 * reset them). Then it closes, requests still running finish, and idle connections are closed.
 * At the deadline whatever is left is cut and the process exits 1.
 */
async function shutDown(
  app: FastifyInstance,
  store: Store,
  lifecycle: Lifecycle,
  { delayMs, timeoutMs }: ShutdownConfig,
  signal: string | undefined,
): Promise<void> {
  const startedAt = Date.now();
  lifecycle.startDraining();
  app.log.info({ signal }, "shutting down: finishing requests");
  let cut = false;
  const deadline = setTimeout(() => {
    cut = true;
    app.log.error("drain deadline passed: closing the connections still open");
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await sleep(delayMs);
    await app.close();
  } finally {
    clearTimeout(deadline);
  }
  await store.close();
  if (cut) throw new DrainCutShort(`requests were still running ${Date.now() - startedAt} ms after the signal`);
  app.log.info("stopped cleanly");
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`people-notes: ${error.message}`);
  } else {
    console.error("people-notes: could not start:", error);
  }
  process.exit(1);
});
