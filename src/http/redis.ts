import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Each rate-limit check waits at most this for Redis; past it the request goes through uncounted. */
const COMMAND_TIMEOUT_MS = 500;

/**
 * The Redis the rate limits are counted in. It never holds a request up for long: commands have a
 * deadline, nothing is queued while it is away, and it keeps reconnecting in the background. An
 * outage is logged when it starts and when it ends, not on every retry.
 */
export function openRedis(url: string, log: Logger): Redis {
  // Loaded only when a Redis is configured: most servers never need the client.
  const { Redis } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  const redis = new Redis(url, {
    connectTimeout: COMMAND_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
  let down = false;
  redis.on("error", (error) => {
    if (down) return;
    down = true;
    log.warn({ err: error }, "Redis is not reachable: rate limits are not counted until it is back");
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    log.info("Redis is reachable again: rate limits are counted");
  });
  return redis;
}

/** Closes the connection, waiting at most a moment for Redis to say goodbye. */
export async function closeRedis(redis: Redis): Promise<void> {
  const timer = setTimeout(() => redis.disconnect(), COMMAND_TIMEOUT_MS);
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
