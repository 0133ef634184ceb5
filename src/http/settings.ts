/**
 * What the HTTP layer is configured with, and its defaults: kept apart from the code that applies
 * them so that reading the configuration loads no Fastify plugin, metrics registry or Redis client.
 */

/** How long a connection may take to say what it wants and to take its answer, how many may be open, and when to shed load. */
export interface ServerLimits {
  /** From a connection's opening (or the start of its next request) to the end of the request's headers. */
  headersTimeoutMs: number;
  /** From the start of a request to the last byte of its body; at least headersTimeoutMs. */
  requestTimeoutMs: number;
  /** How long a connection is kept open, idle, for its next request. */
  keepAliveTimeoutMs: number;
  /** How long bytes of a response may wait for the client to take them before the connection is cut. */
  sendTimeoutMs: number;
  /** Open connections per process; at the cap a new one closes the longest-idle one, or is closed itself. */
  maxConnections: number;
  /** Mean event-loop delay above which requests are answered 503; 0 never sheds. */
  shedEventLoopDelayMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  // A request head is a few hundred bytes: any real client sends it within a second, a slowloris never does.
  headersTimeoutMs: 10_000,
  // The largest body (128 KiB) still arrives at 9 KiB/s; an upload that stalls frees its connection.
  requestTimeoutMs: 15_000,
  // Node's own default: a client's next request reuses the connection, idle ones do not pile up.
  keepAliveTimeoutMs: 5_000,
  // The largest page (1,000 notes of 10,000 characters, about 10 MB) goes out at 5 Mbit/s within this;
  // a client that reads slower, or not at all, frees its connection and the memory its answer holds.
  sendTimeoutMs: 15_000,
  // Far more than one process answers at once, few enough to keep memory and descriptors bounded.
  maxConnections: 1024,
  // A mean lag of a second means every client already waits seconds: then a quick 503 is kinder.
  shedEventLoopDelayMs: 1_000,
};

export interface RateLimitSettings {
  /** Writes a minute per token (or per client address, with no token); 0 turns the limit off. */
  writesPerMinute: number;
  /** Refused sign-ins (401) and password attempts a minute per client address; 0 turns the limit off. */
  failedSignInsPerMinute: number;
  /** Password attempts a minute per name signed in as (whether it exists or not); 0 (or unset) turns it off. */
  signInsPerAccountPerMinute?: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  writesPerMinute: 600,
  failedSignInsPerMinute: 30,
  signInsPerAccountPerMinute: 10,
};
export const NO_RATE_LIMITS: RateLimitSettings = { writesPerMinute: 0, failedSignInsPerMinute: 0 };

export interface EventStreamSettings {
  /** Streams one process keeps open at most; one more is answered 503. */
  maxStreams: number;
  /** A comment is sent when nothing else was for this long, so that proxies keep idle streams open. */
  heartbeatMs: number;
}

export const DEFAULT_EVENT_STREAM_SETTINGS: EventStreamSettings = { maxStreams: 500, heartbeatMs: 15_000 };

export interface MetricsSettings {
  enabled: boolean;
  /** Only clients on loopback may scrape (a Prometheus on the same host, or a sidecar). */
  loopbackOnly: boolean;
}

export const DEFAULT_METRICS: MetricsSettings = { enabled: true, loopbackOnly: true };
