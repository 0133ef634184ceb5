import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, parseDatabaseUrl } from "../../src/config.js";
import { DEFAULT_FEED_SETTINGS } from "../../src/domain/changes.js";
import { DEFAULT_EVENT_STREAM_SETTINGS } from "../../src/http/event-stream.js";
import { isLoopback } from "../../src/http/loopback.js";
import { DEFAULT_RATE_LIMITS } from "../../src/http/rate-limits.js";
import { DEFAULT_SERVER_LIMITS } from "../../src/http/server-limits.js";

describe("access, rate-limit, precondition and metrics settings", () => {
  test("default to writes limited, anonymous writes beyond loopback refused, no Redis", () => {
    assert.deepEqual(loadConfig({}).access, { allowAnonymousWrites: false, rateLimits: DEFAULT_RATE_LIMITS });
  });

  test("metrics are on for loopback clients unless configured otherwise", () => {
    assert.deepEqual(loadConfig({}).metrics, { enabled: true, loopbackOnly: true });
    assert.deepEqual(loadConfig({ METRICS: "off", METRICS_FROM: "any" }).metrics, {
      enabled: false,
      loopbackOnly: false,
    });
  });

  test("REQUIRE_IF_MATCH is off unless set to true", () => {
    assert.equal(loadConfig({}).requireIfMatch, false);
    assert.equal(loadConfig({ REQUIRE_IF_MATCH: "true" }).requireIfMatch, true);
  });

  test("are read from the environment", () => {
    const { access } = loadConfig({
      ALLOW_ANONYMOUS_WRITES: "true",
      RATE_LIMIT_WRITES_PER_MINUTE: "0",
      RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE: "5",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    assert.deepEqual(access, {
      allowAnonymousWrites: true,
      rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 5 },
      redisUrl: "redis://127.0.0.1:6379",
    });
  });

  for (const [env, message] of [
    [{ ALLOW_ANONYMOUS_WRITES: "yes" }, /ALLOW_ANONYMOUS_WRITES must be true or false/],
    [{ REQUIRE_IF_MATCH: "1" }, /REQUIRE_IF_MATCH must be true or false/],
    [{ METRICS: "yes" }, /METRICS must be on or off/],
    [{ METRICS_FROM: "everyone" }, /METRICS_FROM must be loopback or any/],
    [{ RATE_LIMIT_WRITES_PER_MINUTE: "-1" }, /RATE_LIMIT_WRITES_PER_MINUTE must be a whole number/],
    [{ RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE: "many" }, /RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE must be/],
    [{ REDIS_URL: "127.0.0.1:6379" }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
  ] as const) {
    test(`refuse ${JSON.stringify(env)} in one line`, () => {
      assert.throws(
        () => loadConfig(env),
        (error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes("\n"),
      );
    });
  }

  test("loopback is 127.0.0.0/8, ::1 and localhost; anything else is beyond it", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"]) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "192.168.1.5",
      "example.com",
      "127.0.0.1.example.com",
      "::ffff:10.0.0.1",
    ]) {
      assert.equal(isLoopback(host), false, host);
    }
  });
});

describe("server limits settings", () => {
  test("default to DEFAULT_SERVER_LIMITS", () => {
    assert.deepEqual(loadConfig({}).serverLimits, DEFAULT_SERVER_LIMITS);
  });

  test("are read from the environment, 0 turning shedding off", () => {
    const { serverLimits } = loadConfig({
      HEADERS_TIMEOUT_MS: "2000",
      REQUEST_TIMEOUT_MS: "3000",
      KEEP_ALIVE_TIMEOUT_MS: "65000",
      SEND_TIMEOUT_MS: "30000",
      MAX_CONNECTIONS: "5",
      SHED_EVENT_LOOP_DELAY_MS: "0",
    });
    assert.deepEqual(serverLimits, {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 65000,
      sendTimeoutMs: 30000,
      maxConnections: 5,
      shedEventLoopDelayMs: 0,
    });
  });

  test("a request timeout below the default headers timeout shortens that too", () => {
    assert.equal(loadConfig({ REQUEST_TIMEOUT_MS: "4000" }).serverLimits.headersTimeoutMs, 4000);
  });

  for (const [env, message] of [
    [{ HEADERS_TIMEOUT_MS: "0" }, /HEADERS_TIMEOUT_MS must be a whole number from 1/],
    [{ REQUEST_TIMEOUT_MS: "15s" }, /REQUEST_TIMEOUT_MS must be a whole number/],
    [{ KEEP_ALIVE_TIMEOUT_MS: "-1" }, /KEEP_ALIVE_TIMEOUT_MS must be a whole number/],
    [{ SEND_TIMEOUT_MS: "0" }, /SEND_TIMEOUT_MS must be a whole number from 1/],
    [{ MAX_CONNECTIONS: "0" }, /MAX_CONNECTIONS must be a whole number from 1/],
    [{ SHED_EVENT_LOOP_DELAY_MS: "1.5" }, /SHED_EVENT_LOOP_DELAY_MS must be a whole number from 0/],
    [{ HEADERS_TIMEOUT_MS: "20000" }, /HEADERS_TIMEOUT_MS \(20000\) must not be above REQUEST_TIMEOUT_MS \(15000\)/],
  ] as const) {
    test(`refuse ${JSON.stringify(env)} in one line`, () => {
      assert.throws(
        () => loadConfig(env),
        (error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes("\n"),
      );
    });
  }
});

describe("change feed and event stream settings", () => {
  test("default to DEFAULT_FEED_SETTINGS and DEFAULT_EVENT_STREAM_SETTINGS", () => {
    assert.deepEqual(loadConfig({}).events, { feed: DEFAULT_FEED_SETTINGS, streams: DEFAULT_EVENT_STREAM_SETTINGS });
  });

  test("are read from the environment; fewer connections lower the default stream cap", () => {
    const { events } = loadConfig({
      FEED_RETENTION_CHANGES: "500",
      FEED_RETENTION_HOURS: "2",
      FEED_POLL_MS: "100",
      EVENTS_MAX_STREAMS: "7",
      EVENTS_HEARTBEAT_MS: "1000",
    });
    assert.deepEqual(events, {
      feed: { ...DEFAULT_FEED_SETTINGS, pollMs: 100, retention: { changes: 500, hours: 2 } },
      streams: { maxStreams: 7, heartbeatMs: 1000 },
    });
    assert.equal(loadConfig({ MAX_CONNECTIONS: "100" }).events.streams.maxStreams, 50);
  });

  for (const [env, message] of [
    [{ FEED_RETENTION_CHANGES: "0" }, /FEED_RETENTION_CHANGES must be a whole number from 1/],
    [{ FEED_RETENTION_HOURS: "1d" }, /FEED_RETENTION_HOURS must be a whole number/],
    [{ FEED_POLL_MS: "1" }, /FEED_POLL_MS must be a whole number from 10/],
    [{ EVENTS_HEARTBEAT_MS: "10" }, /EVENTS_HEARTBEAT_MS must be a whole number from 100/],
    [{ EVENTS_MAX_STREAMS: "1024" }, /EVENTS_MAX_STREAMS \(1024\) must be below MAX_CONNECTIONS \(1024\)/],
  ] as const) {
    test(`refuse ${JSON.stringify(env)} in one line`, () => {
      assert.throws(
        () => loadConfig(env),
        (error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes("\n"),
      );
    });
  }
});

describe("DATABASE_URL", () => {
  test("a SQLite file beside the working directory, as in a fresh clone, is fine and nothing is made", () => {
    const cwd = mkdtempSync(join(tmpdir(), "people-notes-config-"));
    try {
      assert.deepEqual(parseDatabaseUrl("sqlite:./people.db", cwd), { engine: "sqlite", path: join(cwd, "people.db") });
      assert.deepEqual(parseDatabaseUrl(`sqlite:${cwd}/people.db`), { engine: "sqlite", path: join(cwd, "people.db") });
      assert.deepEqual(parseDatabaseUrl("sqlite::memory:"), { engine: "sqlite", path: ":memory:" });
      assert.deepEqual(readdirSync(cwd), [], "parsing creates nothing");
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test("a SQLite file in a folder that does not exist, or under a file, is refused in one line", () => {
    const cwd = mkdtempSync(join(tmpdir(), "people-notes-config-"));
    try {
      writeFileSync(join(cwd, "plain-file"), "");
      for (const [url, message] of [
        [
          "sqlite:/no/such/dir/x.db",
          /^DATABASE_URL names \/no\/such\/dir\/x\.db, but the folder \/no\/such\/dir does not exist/,
        ],
        ["sqlite:./typo/people.db", /the folder .*\/typo does not exist: correct the path, or create the folder first/],
        ["sqlite:./plain-file/people.db", /plain-file is not a folder/],
      ] as const) {
        assert.throws(
          () => parseDatabaseUrl(url, cwd),
          (error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes("\n"),
          url,
        );
      }
      assert.throws(() => loadConfig({ DATABASE_URL: "sqlite:/no/such/dir/x.db" }), ConfigError);
      assert.deepEqual(readdirSync(cwd), ["plain-file"], "no folder was made");
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
