import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, parseDatabaseUrl } from "../../src/config.js";
import { DEFAULT_FEED_SETTINGS, DEFAULT_WEBHOOK_SETTINGS } from "../../src/domain/settings.js";
import { isLoopback } from "../../src/http/loopback.js";
import { DEFAULT_EVENT_STREAM_SETTINGS, DEFAULT_RATE_LIMITS, DEFAULT_SERVER_LIMITS } from "../../src/http/settings.js";

/** One test per case: loading the configuration from `env` fails with a one-line ConfigError matching the message. */
function refusesEachInOneLine(cases: readonly (readonly [NodeJS.ProcessEnv, RegExp])[]): void {
  for (const [env, message] of cases) {
    test(`refuse ${JSON.stringify(env)} in one line`, () => {
      assert.throws(
        () => loadConfig(env),
        (error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes("\n"),
      );
    });
  }
}

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

  test("HISTORY_MAX_VERSIONS keeps every version unless set", () => {
    assert.deepEqual(loadConfig({}).history, { maxVersions: 0 });
    assert.deepEqual(loadConfig({ HISTORY_MAX_VERSIONS: "50" }).history, { maxVersions: 50 });
  });

  test("TRASH_RETENTION_DAYS keeps deleted items 30 days unless set", () => {
    assert.deepEqual(loadConfig({}).trash, { retentionDays: 30 });
    assert.deepEqual(loadConfig({ TRASH_RETENTION_DAYS: "7" }).trash, { retentionDays: 7 });
  });

  test("are read from the environment", () => {
    const { access } = loadConfig({
      ALLOW_ANONYMOUS_WRITES: "true",
      RATE_LIMIT_WRITES_PER_MINUTE: "0",
      RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE: "5",
      RATE_LIMIT_SIGN_INS_PER_ACCOUNT_PER_MINUTE: "0",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    assert.deepEqual(access, {
      allowAnonymousWrites: true,
      rateLimits: { writesPerMinute: 0, failedSignInsPerMinute: 5, signInsPerAccountPerMinute: 0 },
      redisUrl: "redis://127.0.0.1:6379",
    });
  });

  test("TRUST_PROXY is off unless it names proxies, by address or CIDR range", () => {
    assert.equal(loadConfig({}).access.trustProxy, undefined);
    assert.equal(loadConfig({ TRUST_PROXY: "off" }).access.trustProxy, undefined);
    assert.equal(loadConfig({ TRUST_PROXY: "" }).access.trustProxy, undefined);
    assert.deepEqual(loadConfig({ TRUST_PROXY: " 10.0.0.5, 10.0.1.0/24,fd00::/8 ,::1" }).access.trustProxy, [
      "10.0.0.5",
      "10.0.1.0/24",
      "fd00::/8",
      "::1",
    ]);
  });

  refusesEachInOneLine([
    [{ TRUST_PROXY: "true" }, /TRUST_PROXY must be off or a comma-separated list .*: trusting every peer/],
    [{ TRUST_PROXY: "*" }, /TRUST_PROXY must be off or .*: trusting every peer/],
    [
      { TRUST_PROXY: "0.0.0.0/0" },
      /TRUST_PROXY must be off or .*: 0\.0\.0\.0\/0 would let any client name its own address/,
    ],
    [{ TRUST_PROXY: "10.0.0.5,::/0" }, /::\/0 would let any client name its own address/],
    [{ TRUST_PROXY: "1" }, /TRUST_PROXY must be off or .*"1" is not an address or CIDR range/],
    [{ TRUST_PROXY: "haproxy.internal" }, /"haproxy\.internal" is not an address or CIDR range/],
    [{ TRUST_PROXY: "10.0.0.300" }, /"10\.0\.0\.300" is not an address/],
    [{ TRUST_PROXY: "10.0.0.0/33" }, /"10\.0\.0\.0\/33" is not an address or CIDR range/],
    [{ TRUST_PROXY: "fd00::/129" }, /"fd00::\/129" is not an address/],
    [{ TRUST_PROXY: "10.0.0.0/8/8" }, /"10\.0\.0\.0\/8\/8" is not an address/],
    [{ TRUST_PROXY: "10.0.0.5," }, /"" is not an address or CIDR range/],
    [{ TRUST_PROXY: "fe80::1%eth0" }, /"fe80::1%eth0" is not an address/],
  ]);

  refusesEachInOneLine([
    [{ ALLOW_ANONYMOUS_WRITES: "yes" }, /ALLOW_ANONYMOUS_WRITES must be true or false/],
    [{ REQUIRE_IF_MATCH: "1" }, /REQUIRE_IF_MATCH must be true or false/],
    [{ METRICS: "yes" }, /METRICS must be on or off/],
    [{ METRICS_FROM: "everyone" }, /METRICS_FROM must be loopback or any/],
    [{ RATE_LIMIT_WRITES_PER_MINUTE: "-1" }, /RATE_LIMIT_WRITES_PER_MINUTE must be a whole number/],
    [{ RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE: "many" }, /RATE_LIMIT_FAILED_SIGN_INS_PER_MINUTE must be/],
    [{ REDIS_URL: "127.0.0.1:6379" }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ HISTORY_MAX_VERSIONS: "-1" }, /HISTORY_MAX_VERSIONS must be a whole number/],
    [{ HISTORY_MAX_VERSIONS: "all" }, /HISTORY_MAX_VERSIONS must be a whole number/],
    [{ TRASH_RETENTION_DAYS: "0" }, /TRASH_RETENTION_DAYS must be a whole number from 1 to 36500/],
    [{ TRASH_RETENTION_DAYS: "a month" }, /TRASH_RETENTION_DAYS must be a whole number/],
  ]);

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

  refusesEachInOneLine([
    [{ HEADERS_TIMEOUT_MS: "0" }, /HEADERS_TIMEOUT_MS must be a whole number from 1/],
    [{ REQUEST_TIMEOUT_MS: "15s" }, /REQUEST_TIMEOUT_MS must be a whole number/],
    [{ KEEP_ALIVE_TIMEOUT_MS: "-1" }, /KEEP_ALIVE_TIMEOUT_MS must be a whole number/],
    [{ SEND_TIMEOUT_MS: "0" }, /SEND_TIMEOUT_MS must be a whole number from 1/],
    [{ MAX_CONNECTIONS: "0" }, /MAX_CONNECTIONS must be a whole number from 1/],
    [{ SHED_EVENT_LOOP_DELAY_MS: "1.5" }, /SHED_EVENT_LOOP_DELAY_MS must be a whole number from 0/],
    [{ HEADERS_TIMEOUT_MS: "20000" }, /HEADERS_TIMEOUT_MS \(20000\) must not be above REQUEST_TIMEOUT_MS \(15000\)/],
  ]);
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

  refusesEachInOneLine([
    [{ FEED_RETENTION_CHANGES: "0" }, /FEED_RETENTION_CHANGES must be a whole number from 1/],
    [{ FEED_RETENTION_HOURS: "1d" }, /FEED_RETENTION_HOURS must be a whole number/],
    [{ FEED_POLL_MS: "1" }, /FEED_POLL_MS must be a whole number from 10/],
    [{ EVENTS_HEARTBEAT_MS: "10" }, /EVENTS_HEARTBEAT_MS must be a whole number from 100/],
    [{ EVENTS_MAX_STREAMS: "1024" }, /EVENTS_MAX_STREAMS \(1024\) must be below MAX_CONNECTIONS \(1024\)/],
  ]);
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

describe("account settings", () => {
  test("default to invites, 14 idle and 90 days in all, 10 sign-ins a minute per name, no PUBLIC_URL", () => {
    assert.deepEqual(loadConfig({}).accounts, {
      idleDays: 14,
      maxDays: 90,
      signUp: "invite",
    });
    assert.equal(loadConfig({}).access.rateLimits.signInsPerAccountPerMinute, 10);
  });

  test("are read from the environment", () => {
    assert.deepEqual(
      loadConfig({
        SESSION_IDLE_DAYS: "2",
        SESSION_MAX_DAYS: "30",
        SIGN_UP: "open",
        PUBLIC_URL: "https://notes.example/",
      }).accounts,
      { idleDays: 2, maxDays: 30, signUp: "open", publicUrl: "https://notes.example" },
    );
  });

  refusesEachInOneLine([
    [{ SIGN_UP: "anyone" }, /SIGN_UP must be invite or open/],
    [{ SESSION_IDLE_DAYS: "30", SESSION_MAX_DAYS: "7" }, /SESSION_IDLE_DAYS \(30\) must not be above SESSION_MAX_DAYS/],
    [{ SESSION_MAX_DAYS: "0" }, /SESSION_MAX_DAYS must be a whole number/],
    [{ PUBLIC_URL: "notes.example" }, /PUBLIC_URL must be an http:\/\/ or https:\/\/ URL/],
    [{ PUBLIC_URL: "ftp://notes.example" }, /PUBLIC_URL must be an http:\/\/ or https:\/\/ URL/],
  ]);
});

describe("webhook settings", () => {
  test("default to DEFAULT_WEBHOOK_SETTINGS: no private addresses", () => {
    assert.deepEqual(loadConfig({}).webhooks, DEFAULT_WEBHOOK_SETTINGS);
    assert.equal(DEFAULT_WEBHOOK_SETTINGS.allowPrivate, false);
  });

  test("are read from the environment", () => {
    const { webhooks } = loadConfig({
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_TIMEOUT_MS: "3000",
      WEBHOOK_CONNECT_TIMEOUT_MS: "1000",
      WEBHOOK_RETRY_HOURS: "2",
      WEBHOOK_RETRY_BASE_MS: "200",
      WEBHOOK_RETRY_MAX_MS: "60000",
      WEBHOOK_POLL_MS: "50",
      WEBHOOK_CONCURRENCY: "2",
    });
    assert.deepEqual(webhooks, {
      allowPrivate: true,
      timeoutMs: 3000,
      connectTimeoutMs: 1000,
      retryForMs: 2 * 3_600_000,
      retryBaseMs: 200,
      retryMaxMs: 60_000,
      pollMs: 50,
      concurrency: 2,
    });
  });

  test("an attempt shorter than the default connect timeout shortens that too", () => {
    assert.equal(loadConfig({ WEBHOOK_TIMEOUT_MS: "2000" }).webhooks.connectTimeoutMs, 2000);
  });

  refusesEachInOneLine([
    [{ WEBHOOK_ALLOW_PRIVATE: "yes" }, /^WEBHOOK_ALLOW_PRIVATE must be true or false \(got "yes"\)$/],
    [{ WEBHOOK_TIMEOUT_MS: "10s" }, /^WEBHOOK_TIMEOUT_MS must be a whole number from 100 to 120000 \(got "10s"\)$/],
    [{ WEBHOOK_TIMEOUT_MS: "50" }, /^WEBHOOK_TIMEOUT_MS must be a whole number from 100 to 120000/],
    [
      { WEBHOOK_TIMEOUT_MS: "2000", WEBHOOK_CONNECT_TIMEOUT_MS: "5000" },
      /^WEBHOOK_CONNECT_TIMEOUT_MS must be a whole number from 1 to 2000 \(got "5000"\)$/,
    ],
    [{ WEBHOOK_RETRY_HOURS: "0" }, /^WEBHOOK_RETRY_HOURS must be a whole number from 1 to 720/],
    [{ WEBHOOK_RETRY_HOURS: "1.5" }, /^WEBHOOK_RETRY_HOURS must be a whole number/],
    [{ WEBHOOK_RETRY_BASE_MS: "0" }, /^WEBHOOK_RETRY_BASE_MS must be a whole number from 1 to 3600000/],
    [
      { WEBHOOK_RETRY_BASE_MS: "10000", WEBHOOK_RETRY_MAX_MS: "5000" },
      /^WEBHOOK_RETRY_MAX_MS must be a whole number from 10000 to 86400000 \(got "5000"\)$/,
    ],
    [{ WEBHOOK_POLL_MS: "5" }, /^WEBHOOK_POLL_MS must be a whole number from 10 to 60000/],
    [{ WEBHOOK_CONCURRENCY: "0" }, /^WEBHOOK_CONCURRENCY must be a whole number from 1 to 256/],
    [{ WEBHOOK_CONCURRENCY: "lots" }, /^WEBHOOK_CONCURRENCY must be a whole number/],
  ]);
});
