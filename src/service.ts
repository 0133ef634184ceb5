import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import type { AccessOptions } from "./app.js";
import { ListenError, printFailure } from "./cli/errors.js";
import { isClusterWorker, onShutdownRequest, superviseWorkers } from "./cluster.js";
import { type Config, ConfigError, loadConfig, type ShutdownConfig } from "./config.js";
import { connectionCapacity, poolShortfall } from "./db/capacity.js";
import { openStore, type Store } from "./db/database.js";
import type { Periodic } from "./db/periodic.js";
import { DEFAULT_DATABASE_LIMITS } from "./db/settings.js";
import { prepareDatabase } from "./db/setup.js";
import type { Lifecycle } from "./http/lifecycle.js";
import { stdoutDestination, type TurnBatchedDestination } from "./http/log-destination.js";
import { isLoopback } from "./http/loopback.js";
import { serveClusterMetrics } from "./http/metrics.js";
import { startTracing as startSdk, type Tracing } from "./telemetry.js";

/** After the drain deadline, how long closing the database may take before the process exits anyway. */
const EXIT_MARGIN_MS = 5000;

class DrainCutShort extends Error {
  override name = "DrainCutShort";
}

/**
 * The service as configured: one process, or (WORKERS above 1) a cluster primary that prepares
 * the database once and forks the workers, each of which then serves as a single process does.
 * What only a serving process uses (the app with Fastify, Ajv and the services; the periodic jobs)
 * is loaded by `serveOneProcess`: a cluster primary, and a start that fails on its configuration
 * or its database, never load it (about 0.5 s of CPU a process).
 */
export async function serve(config: Config): Promise<void> {
  const destination = stdoutDestination({ shared: isClusterWorker() || config.workers > 1 });
  // The store is opened before the app, so its warnings go to a logger of its own on the same stream.
  const log = pino({ level: config.logLevel }, destination);
  // Each serving process traces its own requests; a cluster primary serves none.
  const tracing = isClusterWorker() || config.workers === 1 ? await startTracing(config, log) : undefined;
  if (isClusterWorker()) {
    // The primary has migrated and seeded already.
    await serveOneProcess(config, openStore(config.database, log, tracing?.tracer), destination, tracing);
    return;
  }
  const store = openStore(config.database, log, tracing?.tracer);
  const { seeded, applied } = await prepareDatabase(store);
  log.info({ engine: store.engine, migrations: applied, seeded }, "database ready");
  await refuseOpenWritesBeyondLoopback(store, config).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  await warnAboutSharing(store, config, log);
  if (config.workers === 1) {
    await serveOneProcess(config, store, destination, tracing);
    return;
  }
  await store.close();
  if (config.metrics.enabled) serveClusterMetrics();
  superviseWorkers({
    workers: config.workers,
    workerExitDeadlineMs: config.shutdown.timeoutMs + EXIT_MARGIN_MS,
    log,
  });
}

/** Before the store opens and the server listens, so that the first request is traced. */
async function startTracing(config: Config, log: Logger): Promise<Tracing | undefined> {
  if (!config.tracing) return undefined;
  const tracing = await startSdk(config.tracing, log);
  log.info({ url: config.tracing.url, protocol: config.tracing.protocol }, "tracing on");
  return tracing;
}

/** Beyond loopback anyone could write; that takes an admin token, or saying so explicitly. */
async function refuseOpenWritesBeyondLoopback(store: Store, config: Config): Promise<void> {
  if (isLoopback(config.host) || config.access.allowAnonymousWrites) return;
  const [{ TokenService }, { AccountService }] = await Promise.all([
    import("./domain/tokens.js"),
    import("./domain/accounts.js"),
  ]);
  if (await new TokenService(store).anyUsable("admin")) return;
  if (await new AccountService(store, undefined).anyAdmin()) return;
  throw new ConfigError(
    `HOST=${config.host} listens beyond loopback and there is no admin token, so anyone could write: ` +
      "create one with `people-notes token create --admin --name NAME` (or an admin account with " +
      "`people-notes admin create --name NAME`), or set ALLOW_ANONYMOUS_WRITES=true",
  );
}

function accessOptions(config: Config, redis: Redis | undefined): AccessOptions {
  const open = isLoopback(config.host) || config.access.allowAnonymousWrites;
  return {
    mode: open ? "once-a-token-exists" : "always",
    rateLimits: config.access.rateLimits,
    accounts: config.accounts,
    ...(redis ? { redis } : {}),
    ...(config.access.trustProxy ? { trustProxy: config.access.trustProxy } : {}),
  };
}

/** What several processes on one database need to know at start-up. */
async function warnAboutSharing(store: Store, config: Config, log: Logger): Promise<void> {
  if (store.engine === "sqlite") {
    if (config.workers > 1) {
      log.warn(
        { workers: config.workers },
        "SQLite has one write lock for every process: with several workers, writes wait for each other",
      );
    }
    return;
  }
  const poolSize = config.database.limits?.poolSize ?? DEFAULT_DATABASE_LIMITS.poolSize;
  try {
    const shortfall = poolShortfall(await connectionCapacity(store), config.workers, poolSize);
    if (!shortfall) return;
    const { wanted, maxConnections, reserved, headroom, inUse, available } = shortfall;
    log.warn(
      shortfall,
      `WORKERS × (DB_POOL_SIZE + 1 listening) = ${wanted} connections may be more than PostgreSQL can give: max_connections ` +
        `${maxConnections} − reserved ${reserved} − headroom ${headroom} − in use now ${inUse} = ${available}; ` +
        "lower DB_POOL_SIZE or WORKERS, or raise max_connections",
    );
  } catch (error) {
    log.warn({ err: error }, "could not read PostgreSQL's connection limits");
  }
}

/** One server process: listens, and drains on SIGTERM/SIGINT (or when its cluster primary asks). */
async function serveOneProcess(
  config: Config,
  store: Store,
  destination: TurnBatchedDestination,
  tracing: Tracing | undefined,
): Promise<void> {
  const [
    { buildApp },
    { default: closeWithGrace },
    { foldCountsPeriodically },
    { purgeTrashPeriodically, TrashService },
    { Lifecycle },
    { closeRedis, openRedis },
  ] = await Promise.all([
    import("./app.js"),
    import("close-with-grace"),
    import("./db/count-folding.js"),
    import("./domain/trash.js"),
    import("./http/lifecycle.js"),
    import("./http/redis.js"),
  ]);
  const lifecycle = new Lifecycle();
  const log = pino({ level: config.logLevel }, destination);
  const redis = config.access.redisUrl ? openRedis(config.access.redisUrl, log) : undefined;
  const app = await buildApp({
    store,
    lifecycle,
    logger: { level: config.logLevel, stream: destination },
    access: accessOptions(config, redis),
    requireIfMatch: config.requireIfMatch,
    metrics: { ...config.metrics, clusterWorker: isClusterWorker() },
    serverLimits: config.serverLimits,
    events: config.events,
    ...(tracing ? { tracer: tracing.tracer } : {}),
    history: config.history,
    trash: config.trash,
    webhooks: { ...config.webhooks, deliver: true },
  });

  let stopping = false;
  let requestedBy: string | undefined;
  let folding: Periodic | undefined;
  let purging: Periodic | undefined;
  const { close } = closeWithGrace(
    {
      delay: config.shutdown.timeoutMs + EXIT_MARGIN_MS,
      logger: app.log,
      onSecondSignal: (signal) => {
        app.log.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      },
    },
    async ({ signal, err }) => {
      stopping = true;
      if (err) app.log.fatal({ err }, "uncaught error: shutting down");
      try {
        purging?.stop();
        await shutDown(app, store, lifecycle, config.shutdown, signal ?? requestedBy, folding, tracing);
      } finally {
        if (redis) await closeRedis(redis);
      }
    },
  );
  if (isClusterWorker()) {
    onShutdownRequest((signal) => {
      if (stopping) return;
      requestedBy = signal;
      void close();
    });
  }

  await app.listen({ port: config.port, host: config.host }).catch((error: unknown) => {
    throw new ListenError(config.host, config.port, { cause: error });
  });
  folding = foldCountsPeriodically(store, app.log);
  // Every process purges; on PostgreSQL one at a time, whatever the number of workers.
  purging = purgeTrashPeriodically(new TrashService(store, undefined, config.trash), app.log);
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
  folding: Periodic | undefined,
  tracing: Tracing | undefined,
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
  folding?.stop();
  // Every request has ended, and its spans with it: the last batch leaves (or is given up on)
  // while the database closes.
  await Promise.all([store.close(), tracing?.shutdown()]);
  if (cut) throw new DrainCutShort(`requests were still running ${Date.now() - startedAt} ms after the signal`);
  app.log.info("stopped cleanly");
}

/**
 * Runs `serve` with the configuration `read` returns; a failure to start prints one line (what,
 * where, what to do; the stack too at LOG_LEVEL=debug) and exits 1.
 */
export async function serveOrExit(read: () => Config = loadConfig): Promise<void> {
  let config: Config | undefined;
  try {
    config = read();
    await serve(config);
  } catch (error) {
    printFailure(error, { ...(config ? { database: config.database } : {}), failed: "could not start" });
    process.exit(1);
  }
}
