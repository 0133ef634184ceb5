import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_WEBHOOK_SETTINGS } from "../../src/domain/settings.js";
import { backoffMs } from "../../src/domain/webhook-delivery.js";

const settings = { ...DEFAULT_WEBHOOK_SETTINGS, retryBaseMs: 5_000, retryMaxMs: 3_600_000 };
/** The random source at its two ends and in the middle: the pause's lowest, middle and highest. */
const LOWEST = () => 0;
const MIDDLE = () => 0.5;
const HIGHEST = () => 1 - Number.EPSILON;

describe("the pause before a webhook retry", () => {
  test("doubles after each failure, from the base", () => {
    // The full pause: 5 s, 10 s, 20 s, … (half of it random, so the highest is just under it).
    const full = [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000];
    full.forEach((pause, index) => {
      const attempts = index + 1;
      assert.equal(backoffMs(settings, attempts, LOWEST), pause / 2, `retry ${attempts}, lowest`);
      assert.equal(backoffMs(settings, attempts, MIDDLE), (pause * 3) / 4, `retry ${attempts}, middle`);
      assert.equal(backoffMs(settings, attempts, HIGHEST), pause, `retry ${attempts}, highest`);
    });
  });

  test("stops growing at the maximum, however many failures came before", () => {
    for (const attempts of [11, 12, 20, 41, 1_000, 1_000_000]) {
      assert.equal(backoffMs(settings, attempts, LOWEST), settings.retryMaxMs / 2, `retry ${attempts}, lowest`);
      assert.equal(backoffMs(settings, attempts, HIGHEST), settings.retryMaxMs, `retry ${attempts}, highest`);
    }
    const small = { ...settings, retryBaseMs: 1_000, retryMaxMs: 3_000 };
    assert.deepEqual(
      [1, 2, 3, 4].map((attempts) => backoffMs(small, attempts, HIGHEST)),
      [1_000, 2_000, 3_000, 3_000],
      "a maximum that is not a doubling of the base caps the pause at itself",
    );
  });

  test("is random in its upper half only, so retries spread out but never come sooner than half", () => {
    let seed = 1;
    // A fixed sequence of fractions in [0, 1): the same every run.
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return (seed - 1) / 2_147_483_646;
    };
    for (let attempts = 1; attempts <= 14; attempts++) {
      const full = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempts - 1));
      const pauses = Array.from({ length: 50 }, () => backoffMs(settings, attempts, random));
      for (const pause of pauses) {
        assert.ok(pause >= full / 2 && pause <= full, `retry ${attempts}: ${pause} ms within [${full / 2}, ${full}]`);
      }
      assert.ok(new Set(pauses).size > 40, `retry ${attempts}: the pauses differ from one another`);
    }
  });
});
