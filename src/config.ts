import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { type DatabaseConfig, type DatabaseLimits, DEFAULT_DATABASE_LIMITS } from "./db/database.js";
import { DEFAULT_FEED_SETTINGS, type FeedSettings } from "./domain/changes.js";
import { DEFAULT_EVENT_STREAM_SETTINGS, type EventStreamSettings } from "./http/event-stream.js";
import type { MetricsSettings } from "./http/metrics.js";
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from "./http/rate-limits.js";
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from "./http/server-limits.js";

export interface ShutdownConfig {
  /** After SIGTERM, how long the listener keeps accepting (readiness already says 503). */
  delayMs: number;
  /** From SIGTERM to cutting whatever is still open. */
  timeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  database: DatabaseConfig;
  logLevel: string;
  shutdown: ShutdownConfig;
  /** Server processes sharing the port; above 1 the process becomes a cluster primary. */
  workers: number;
  access: AccessConfig;
  /** REQUIRE_IF_MATCH: PUT and DELETE without If-Match are refused (428). */
  requireIfMatch: boolean;
  /** METRICS (on/off) and METRICS_FROM (loopback/any). */
  metrics: MetricsSettings;
  /** HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, SEND_TIMEOUT_MS, MAX_CONNECTIONS, SHED_EVENT_LOOP_DELAY_MS. */
  serverLimits: ServerLimits;
  /** FEED_RETENTION_CHANGES, FEED_RETENTION_HOURS, FEED_POLL_MS, EVENTS_MAX_STREAMS, EVENTS_HEARTBEAT_MS. */
  events: { feed: FeedSettings; streams: EventStreamSettings };
}

export interface AccessConfig {
  /** Beyond loopback: let writes through with no token until one exists (ALLOW_ANONYMOUS_WRITES). */
  allowAnonymousWrites: boolean;
  rateLimits: RateLimitSettings;
  /** Where every process counts the rate limits; unset, each process counts its own. */
  redisUrl?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
/** An unquoted PostgreSQL identifier; anything else could reach libpq's options string. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `sqlite:./people.db`, `sqlite:/abs/path.db`, `sqlite::memory:` or `postgres://…` (also
 * `postgresql://…`). A SQLite file may be new, but its folder must exist: a typo in the path
 * should not scatter databases over new folders.
 */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseConfig {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") throw new ConfigError(`DATABASE_URL has no file path: ${url}`);
    if (path === ":memory:") return { engine: "sqlite", path };
    const file = resolve(cwd, path);
    requireFolder(file);
    return { engine: "sqlite", path: file };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError("DATABASE_URL is not a valid postgres:// URL");
    }
    const schema = parsed.searchParams.get("schema") ?? undefined;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new ConfigError(
        `DATABASE_URL's schema must be lower-case letters, digits and _, not starting with a digit (got ${JSON.stringify(schema)})`,
      );
    }
    parsed.searchParams.delete("schema");
    return schema ? { engine: "postgres", url: parsed.toString(), schema } : { engine: "postgres", url };
  }
  throw new ConfigError(`DATABASE_URL must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}

function requireFolder(file: string): void {
  const folder = dirname(file);
  const found = statSync(folder, { throwIfNoEntry: false });
  if (found?.isDirectory()) return;
  throw new ConfigError(
    found
      ? `DATABASE_URL names ${file}, but ${folder} is not a folder: correct the path`
      : `DATABASE_URL names ${file}, but the folder ${folder} does not exist: correct the path, or create the folder first (mkdir -p ${folder})`,
  );
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return number;
}

const HOUR_MS = 3_600_000;
export const MAX_WORKERS = 256;

/** `auto` (one per core) or a whole number of worker processes; `name` is what the message calls it. */
export function parseWorkers(value: string, name = "WORKERS"): number {
  if (value === "auto") return availableParallelism();
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || number > MAX_WORKERS) {
    throw new ConfigError(
      `${name} must be auto or a whole number from 1 to ${MAX_WORKERS} (got ${JSON.stringify(value)})`,
    );
  }
  return number;
}

/** Reads the environment once; an invalid value stops the process with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(logLevel)})`);
  }
  const defaults = DEFAULT_DATABASE_LIMITS;
  const limits: DatabaseLimits = {
    connectTimeoutMs: wholeNumber(env, "DB_CONNECT_TIMEOUT_MS", defaults.connectTimeoutMs, 1, HOUR_MS),
    statementTimeoutMs: wholeNumber(env, "DB_STATEMENT_TIMEOUT_MS", defaults.statementTimeoutMs, 1, HOUR_MS),
    lockTimeoutMs: wholeNumber(env, "DB_LOCK_TIMEOUT_MS", defaults.lockTimeoutMs, 1, HOUR_MS),
    poolSize: wholeNumber(env, "DB_POOL_SIZE", defaults.poolSize, 1, 1000),
  };
  const timeoutMs = wholeNumber(env, "SHUTDOWN_TIMEOUT_MS", 25_000, 1, HOUR_MS);
  const serverLimitSettings = serverLimits(env);
  return {
    port: wholeNumber(env, "PORT", 5000, 0, 65535),
    host: env.HOST ?? "127.0.0.1",
    database: { ...parseDatabaseUrl(env.DATABASE_URL ?? "sqlite:./people.db"), limits },
    logLevel,
    shutdown: { delayMs: wholeNumber(env, "SHUTDOWN_DELAY_MS", 500, 0, timeoutMs), timeoutMs },
    workers: env.WORKERS === undefined || env.WORKERS === "" ? 1 : parseWorkers(env.WORKERS),
    access: accessConfig(env),
    requireIfMatch: booleanSetting(env, "REQUIRE_IF_MATCH"),
    metrics: metricsSettings(env),
    serverLimits: serverLimitSettings,
    events: eventSettings(env, serverLimitSettings.maxConnections),
  };
}

function eventSettings(env: NodeJS.ProcessEnv, maxConnections: number): Config["events"] {
  const feed = DEFAULT_FEED_SETTINGS;
  const streams = DEFAULT_EVENT_STREAM_SETTINGS;
  const maxStreams = wholeNumber(
    env,
    "EVENTS_MAX_STREAMS",
    Math.min(streams.maxStreams, Math.floor(maxConnections / 2)),
    0,
    1_000_000,
  );
  if (maxStreams >= maxConnections) {
    throw new ConfigError(
      `EVENTS_MAX_STREAMS (${maxStreams}) must be below MAX_CONNECTIONS (${maxConnections}): every stream holds a connection`,
    );
  }
  return {
    feed: {
      ...feed,
      pollMs: wholeNumber(env, "FEED_POLL_MS", feed.pollMs, 10, 60_000),
      retention: {
        changes: wholeNumber(env, "FEED_RETENTION_CHANGES", feed.retention.changes, 1, 1_000_000_000),
        hours: wholeNumber(env, "FEED_RETENTION_HOURS", feed.retention.hours, 1, 24 * 366),
      },
    },
    streams: { maxStreams, heartbeatMs: wholeNumber(env, "EVENTS_HEARTBEAT_MS", streams.heartbeatMs, 100, HOUR_MS) },
  };
}

function metricsSettings(env: NodeJS.ProcessEnv): MetricsSettings {
  const enabled = env.METRICS ?? "on";
  if (enabled !== "on" && enabled !== "off") {
    throw new ConfigError(`METRICS must be on or off (got ${JSON.stringify(enabled)})`);
  }
  const from = env.METRICS_FROM ?? "loopback";
  if (from !== "loopback" && from !== "any") {
    throw new ConfigError(`METRICS_FROM must be loopback or any (got ${JSON.stringify(from)})`);
  }
  return { enabled: enabled === "on", loopbackOnly: from === "loopback" };
}

function booleanSetting(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name] ?? "false";
  if (value !== "true" && value !== "false") {
    throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(value)})`);
  }
  return value === "true";
}

function accessConfig(env: NodeJS.ProcessEnv): AccessConfig {
  const redisUrl = env.REDIS_URL === "" ? undefined : env.REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL (got ${JSON.stringify(redisUrl)})`);
  }
  const defaults = DEFAULT_RATE_LIMITS;
  return {
    allowAnonymousWrites: booleanSetting(env, "ALLOW_ANONYMOUS_WRITES"),
    rateLimits: {
      writesPerMinute: wholeNumber(env, "RATE_LIMIT_WRITES_PER_MINUTE", defaults.writesPerMinute, 0, 1_000_000),
      failedSignInsPerMinute: wholeNumber(
        env,
        "RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE",
        defaults.failedSignInsPerMinute,
        0,
        1_000_000,
      ),
    },
    ...(redisUrl ? { redisUrl } : {}),
  };
}

function serverLimits(env: NodeJS.ProcessEnv): ServerLimits {
  const defaults = DEFAULT_SERVER_LIMITS;
  const requestTimeoutMs = wholeNumber(env, "REQUEST_TIMEOUT_MS", defaults.requestTimeoutMs, 1, HOUR_MS);
  const headersTimeoutMs = wholeNumber(
    env,
    "HEADERS_TIMEOUT_MS",
    Math.min(defaults.headersTimeoutMs, requestTimeoutMs),
    1,
    HOUR_MS,
  );
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not be above REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the headers are part of the request`,
    );
  }
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: wholeNumber(env, "KEEP_ALIVE_TIMEOUT_MS", defaults.keepAliveTimeoutMs, 1, HOUR_MS),
    sendTimeoutMs: wholeNumber(env, "SEND_TIMEOUT_MS", defaults.sendTimeoutMs, 1, HOUR_MS),
    maxConnections: wholeNumber(env, "MAX_CONNECTIONS", defaults.maxConnections, 1, 1_000_000),
    shedEventLoopDelayMs: wholeNumber(env, "SHED_EVENT_LOOP_DELAY_MS", defaults.shedEventLoopDelayMs, 0, HOUR_MS),
  };
}
