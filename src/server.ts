import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { openStore } from "./db/database.js";
import { prepareDatabase } from "./db/setup.js";
import { stdoutDestination } from "./http/log-destination.js";

/** In-flight requests get this long to finish after SIGTERM/SIGINT before connections are cut. */
const DRAIN_TIMEOUT_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const store = openStore(config.database);
  const { seeded, applied } = await prepareDatabase(store);
  const app = await buildApp({ store, logger: { level: config.logLevel, stream: stdoutDestination() } });
  app.addHook("onClose", async () => {
    await store.close();
  });
  app.log.info({ engine: store.engine, migrations: applied, seeded }, "database ready");

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, "shutting down: finishing in-flight requests");
    const deadline = setTimeout(() => {
      app.log.error("drain deadline passed: closing remaining connections");
      app.server.closeAllConnections();
    }, DRAIN_TIMEOUT_MS);
    deadline.unref();
    try {
      await app.close();
      app.log.info("stopped cleanly");
      process.exitCode = 0;
    } catch (error) {
      app.log.error({ err: error }, "error while stopping");
      process.exitCode = 1;
    }
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`people-notes: ${error.message}`);
  } else {
    console.error("people-notes: could not start:", error);
  }
  process.exit(1);
});
