/**
 * The data layer's waits in tests: the product's defaults (2 s to connect, 5 s a statement) are for a
 * server that has its cores; the test files run several at a time on a shared machine, where a batch
 * of a thousand rows or a connection can take longer with nothing wrong. Tests of the limits
 * themselves set their own.
 */
export const TEST_DATABASE_LIMITS = { connectTimeoutMs: 15_000, statementTimeoutMs: 60_000 } as const;
/** The same limits as environment variables, for the servers and CLI runs the tests start. */
export const TEST_DATABASE_ENV: Record<string, string> = {
  DB_CONNECT_TIMEOUT_MS: String(TEST_DATABASE_LIMITS.connectTimeoutMs),
  DB_STATEMENT_TIMEOUT_MS: String(TEST_DATABASE_LIMITS.statementTimeoutMs),
};

/**
 * How long a server the tests start may take to answer its first request. A bound, so that a server
 * that never starts fails its test instead of hanging it; not a speed target (start-up time is
 * measured by `npm run bench -- --startup`). Generous for the same reason as the limits above.
 */
export const START_LIMIT_MS = 60_000;

/**
 * How long a test waits for work the product does in the background (a webhook delivered, a count
 * folded) before it fails. A bound on a hang, not a speed target: with several files running at
 * once, a turn of background work that takes milliseconds alone can take seconds.
 */
export const WAIT_LIMIT_MS = 60_000;
