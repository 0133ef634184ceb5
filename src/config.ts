import { statSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { type DatabaseConfig, type DatabaseLimits, DEFAULT_DATABASE_LIMITS } from "./db/settings.js";
import {
  type AccountSettings,
  DEFAULT_ACCOUNT_SETTINGS,
  DEFAULT_FEED_SETTINGS,
  DEFAULT_HISTORY,
  DEFAULT_TRASH,
  DEFAULT_WEBHOOK_SETTINGS,
  type FeedSettings,
  type HistorySettings,
  type TrashSettings,
  type WebhookSettings,
} from "./domain/settings.js";
import {
  DEFAULT_EVENT_STREAM_SETTINGS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_SERVER_LIMITS,
  type EventStreamSettings,
  type MetricsSettings,
  type RateLimitSettings,
  type ServerLimits,
} from "./http/settings.js";
import {
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  TRACES_SAMPLERS,
  type TracesSampler,
  type TracingSettings,
} from "./telemetry.js";

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
  /** PUBLIC_URL, SESSION_IDLE_DAYS, SESSION_MAX_DAYS, SIGN_UP. */
  accounts: AccountSettings;
  /** REQUIRE_IF_MATCH: PUT and DELETE without If-Match are refused (428). */
  requireIfMatch: boolean;
  /** METRICS (on/off) and METRICS_FROM (loopback/any). */
  metrics: MetricsSettings;
  /** HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, SEND_TIMEOUT_MS, MAX_CONNECTIONS, SHED_EVENT_LOOP_DELAY_MS. */
  serverLimits: ServerLimits;
  /** FEED_RETENTION_CHANGES, FEED_RETENTION_HOURS, FEED_POLL_MS, EVENTS_MAX_STREAMS, EVENTS_HEARTBEAT_MS. */
  events: { feed: FeedSettings; streams: EventStreamSettings };
  /** OpenTelemetry tracing: on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. */
  tracing?: TracingSettings;
  /** HISTORY_MAX_VERSIONS: how many replaced versions of each note are kept (0: all). */
  history: HistorySettings;
  /** TRASH_RETENTION_DAYS: how long deleted people and notes stay in the trash. */
  trash: TrashSettings;
  /**
   * WEBHOOK_ALLOW_PRIVATE, WEBHOOK_TIMEOUT_MS, WEBHOOK_CONNECT_TIMEOUT_MS, WEBHOOK_RETRY_HOURS,
   * WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_MAX_MS, WEBHOOK_POLL_MS, WEBHOOK_CONCURRENCY.
   */
  webhooks: WebhookSettings;
}

export interface AccessConfig {
  /** Beyond loopback: let writes through with no token until one exists (ALLOW_ANONYMOUS_WRITES). */
  allowAnonymousWrites: boolean;
  rateLimits: RateLimitSettings;
  /** Where every process counts the rate limits; unset, each process counts its own. */
  redisUrl?: string;
  /** TRUST_PROXY: the proxies (addresses, CIDR ranges) whose X-Forwarded-For is believed; unset, none. */
  trustProxy?: string[];
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
    accounts: accountSettings(env),
    requireIfMatch: booleanSetting(env, "REQUIRE_IF_MATCH"),
    metrics: metricsSettings(env),
    serverLimits: serverLimitSettings,
    events: eventSettings(env, serverLimitSettings.maxConnections),
    ...tracingOption(env),
    history: {
      maxVersions: wholeNumber(env, "HISTORY_MAX_VERSIONS", DEFAULT_HISTORY.maxVersions, 0, 1_000_000_000),
    },
    trash: {
      retentionDays: wholeNumber(env, "TRASH_RETENTION_DAYS", DEFAULT_TRASH.retentionDays, 1, 36_500),
    },
    webhooks: webhookSettings(env),
  };
}

function webhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  const d = DEFAULT_WEBHOOK_SETTINGS;
  const timeoutMs = wholeNumber(env, "WEBHOOK_TIMEOUT_MS", d.timeoutMs, 100, 120_000);
  const retryBaseMs = wholeNumber(env, "WEBHOOK_RETRY_BASE_MS", d.retryBaseMs, 1, HOUR_MS);
  return {
    allowPrivate: booleanSetting(env, "WEBHOOK_ALLOW_PRIVATE"),
    timeoutMs,
    connectTimeoutMs: wholeNumber(
      env,
      "WEBHOOK_CONNECT_TIMEOUT_MS",
      Math.min(d.connectTimeoutMs, timeoutMs),
      1,
      timeoutMs,
    ),
    retryForMs: wholeNumber(env, "WEBHOOK_RETRY_HOURS", d.retryForMs / HOUR_MS, 1, 720) * HOUR_MS,
    retryBaseMs,
    retryMaxMs: wholeNumber(
      env,
      "WEBHOOK_RETRY_MAX_MS",
      Math.max(d.retryMaxMs, retryBaseMs),
      retryBaseMs,
      24 * HOUR_MS,
    ),
    pollMs: wholeNumber(env, "WEBHOOK_POLL_MS", d.pollMs, 10, 60_000),
    concurrency: wholeNumber(env, "WEBHOOK_CONCURRENCY", d.concurrency, 1, 256),
  };
}

const setting = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
};

/**
 * The standard OpenTelemetry variables the server acts on, checked here so that a typo is one line at
 * start-up rather than a warning from inside the SDK and traces that never arrive.
 */
function tracingOption(env: NodeJS.ProcessEnv): { tracing?: TracingSettings } {
  const disabled = setting(env, "OTEL_SDK_DISABLED") ?? "false";
  if (disabled !== "true" && disabled !== "false") {
    throw new ConfigError(`OTEL_SDK_DISABLED must be true or false (got ${JSON.stringify(disabled)})`);
  }
  const specific = setting(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const general = setting(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (disabled === "true" || (specific === undefined && general === undefined)) return {};
  // The signal's own endpoint is used as given; the general one is a base the signal's path is added to.
  const url =
    specific !== undefined
      ? endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", specific)
      : `${endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", general as string).replace(/\/$/, "")}/v1/traces`;
  const protocolName = setting(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocol = setting(env, protocolName) ?? "http/protobuf";
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new ConfigError(
      `${protocolName} must be ${OTLP_PROTOCOLS.join(" or ")}: spans are sent over OTLP/HTTP (got ${JSON.stringify(protocol)})`,
    );
  }
  const sampler = setting(env, "OTEL_TRACES_SAMPLER") ?? "parentbased_always_on";
  if (!(TRACES_SAMPLERS as readonly string[]).includes(sampler)) {
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER must be one of ${TRACES_SAMPLERS.join(", ")} (got ${JSON.stringify(sampler)})`,
    );
  }
  const serviceName = setting(env, "OTEL_SERVICE_NAME");
  return {
    tracing: {
      url,
      protocol: protocol as OtlpProtocol,
      sampler: sampler as TracesSampler,
      samplerRatio: samplerRatio(env, sampler as TracesSampler),
      ...(serviceName ? { serviceName } : {}),
    },
  };
}

function endpoint(name: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "http:" && url?.protocol !== "https:") {
    throw new ConfigError(
      `${name} must be an http:// or https:// URL of an OTLP collector (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/** OTEL_TRACES_SAMPLER_ARG: the share of new traces kept, for the ratio samplers; 1 unless said. */
function samplerRatio(env: NodeJS.ProcessEnv, sampler: TracesSampler): number {
  const value = setting(env, "OTEL_TRACES_SAMPLER_ARG");
  if (value === undefined || !sampler.endsWith("traceidratio")) return 1;
  const ratio = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || ratio > 1) {
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got ${JSON.stringify(value)})`);
  }
  return ratio;
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

/** The address the server listens on, as a URL: invite links' base when `PUBLIC_URL` is unset. */
export function listeningUrl(host: string, port: number): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  return `http://${shown === "0.0.0.0" || shown === "[::]" ? "127.0.0.1" : shown}:${port}`;
}

/** `PUBLIC_URL` (an http or https origin, perhaps with a path), if set. */
export function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  const given = env.PUBLIC_URL;
  if (given === undefined || given === "") return undefined;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an http:// or https:// URL (got ${JSON.stringify(given)})`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.username) {
    throw new ConfigError(
      `PUBLIC_URL must be an http:// or https:// URL without query, fragment or user (got ${JSON.stringify(given)})`,
    );
  }
  return given.replace(/\/+$/, "");
}

function accountSettings(env: NodeJS.ProcessEnv): AccountSettings {
  const defaults = DEFAULT_ACCOUNT_SETTINGS;
  const maxDays = wholeNumber(env, "SESSION_MAX_DAYS", defaults.maxDays, 1, 3650);
  const idleDays = wholeNumber(env, "SESSION_IDLE_DAYS", Math.min(defaults.idleDays, maxDays), 1, 3650);
  if (idleDays > maxDays) {
    throw new ConfigError(`SESSION_IDLE_DAYS (${idleDays}) must not be above SESSION_MAX_DAYS (${maxDays})`);
  }
  const signUp = env.SIGN_UP ?? defaults.signUp;
  if (signUp !== "invite" && signUp !== "open") {
    throw new ConfigError(`SIGN_UP must be invite or open (got ${JSON.stringify(signUp)})`);
  }
  const url = publicUrl(env);
  return { idleDays, maxDays, signUp, ...(url ? { publicUrl: url } : {}) };
}

const TRUST_PROXY_FORM =
  "TRUST_PROXY must be off or a comma-separated list of the proxies' addresses or CIDR ranges, such as 10.0.0.5,10.0.1.0/24";

/**
 * TRUST_PROXY: `off`, or the addresses and CIDR ranges (IPv4 or IPv6) of the proxies in front of
 * the server. A request whose peer is one of them is taken to come from the address they report in
 * X-Forwarded-For (the nearest one not itself trusted); any other peer's header is ignored. Fastify
 * would also take `true`, or a hop count, which believe a header any client can write: here a range
 * must be named, and /0 (every address) is refused for the same reason.
 */
export function parseTrustProxy(value: string | undefined): string[] {
  const given = value?.trim() ?? "";
  if (given === "" || given === "off") return [];
  if (["true", "on", "all", "*"].includes(given)) {
    throw new ConfigError(
      `${TRUST_PROXY_FORM}: trusting every peer would let any client name its own address (got ${JSON.stringify(value)})`,
    );
  }
  return given.split(",").map((entry) => {
    const trimmed = entry.trim();
    const [address = "", prefix, ...rest] = trimmed.split("/");
    const version = address.includes("%") ? 0 : isIP(address);
    const bits = version === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (version === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        `${TRUST_PROXY_FORM} (got ${JSON.stringify(value)}: ${JSON.stringify(trimmed)} is not an address or CIDR range)`,
      );
    }
    if (prefix !== undefined && Number(prefix) === 0) {
      throw new ConfigError(
        `${TRUST_PROXY_FORM}: ${trimmed} would let any client name its own address (got ${JSON.stringify(value)})`,
      );
    }
    return trimmed;
  });
}

function accessConfig(env: NodeJS.ProcessEnv): AccessConfig {
  const redisUrl = env.REDIS_URL === "" ? undefined : env.REDIS_URL;
  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
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
      signInsPerAccountPerMinute: wholeNumber(
        env,
        "RATE_LIMIT_SIGN_INS_PER_ACCOUNT_PER_MINUTE",
        defaults.signInsPerAccountPerMinute ?? 0,
        0,
        1_000_000,
      ),
    },
    ...(redisUrl ? { redisUrl } : {}),
    ...(trustProxy.length > 0 ? { trustProxy } : {}),
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
