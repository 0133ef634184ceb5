import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, isLoopback, loadConfig } from "../../src/config.js";
import { DEFAULT_RATE_LIMITS } from "../../src/http/rate-limits.js";

describe("access and rate-limit settings", () => {
  test("default to writes limited, anonymous writes beyond loopback refused, no Redis", () => {
    assert.deepEqual(loadConfig({}).access, { allowAnonymousWrites: false, rateLimits: DEFAULT_RATE_LIMITS });
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
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.equal(isLoopback(host), true, host);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "example.com", "127.0.0.1.example.com"]) {
      assert.equal(isLoopback(host), false, host);
    }
  });
});
