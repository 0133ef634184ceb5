import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CircuitBreaker } from "../../src/db/breaker.js";
import { DatabaseUnavailableError } from "../../src/db/errors.js";

/** A probe the test answers by hand, one call at a time; it records how many ran at once. */
function manualProbe() {
  const calls: { settle: (ok: boolean) => void; signal: AbortSignal }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const waiting: (() => void)[] = [];
  return {
    calls,
    mostAtOnce: () => mostAtOnce,
    probe(signal: AbortSignal): Promise<void> {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise<void>((resolve, reject) => {
        const settle = (ok: boolean) => {
          running--;
          if (ok) resolve();
          else reject(new Error("no answer"));
        };
        signal.addEventListener("abort", () => settle(false), { once: true });
        calls.push({ settle, signal });
        for (const wake of waiting.splice(0)) wake();
      });
    },
    /** The `n`th call (from 1), once it has been made; bounded by `ms`. */
    async call(n: number, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (calls.length < n) {
        assert.ok(Date.now() < deadline, `probe ${n} was never made`);
        await new Promise<void>((wake) => {
          waiting.push(wake);
          setTimeout(wake, 50);
        });
      }
      return calls[n - 1] as (typeof calls)[number];
    },
  };
}

const quietLog = { warn() {}, error() {} };

describe("the database circuit breaker", () => {
  test("closed, it lets everything through; tripped, it refuses at once until a probe gets an answer", async () => {
    const probes = manualProbe();
    const warnings: string[] = [];
    const breaker = new CircuitBreaker({
      probe: (signal) => probes.probe(signal),
      log: { warn: (_fields, message) => warnings.push(message), error() {} },
    });
    breaker.check();
    assert.equal(probes.calls.length, 0, "no probe while nothing failed");

    const cause = new Error("connect ECONNREFUSED");
    breaker.trip(cause);
    breaker.trip(new Error("a second failure while open changes nothing"));
    assert.throws(
      () => breaker.check(),
      (error) => error instanceof DatabaseUnavailableError && error.cause === cause && !error.outcomeUnknown,
    );
    (await probes.call(1)).settle(false);
    (await probes.call(2)).settle(false);
    assert.equal(breaker.isOpen, true, "still refusing while probes fail");
    assert.throws(() => breaker.check(), DatabaseUnavailableError);
    (await probes.call(3)).settle(true);
    for (let turn = 0; turn < 100 && breaker.isOpen; turn++) await new Promise((r) => setImmediate(r));
    breaker.check();
    assert.equal(probes.mostAtOnce(), 1, "one probe at a time");
    assert.equal(warnings.length, 2, "opening and closing are logged once each");
    await breaker.stop();
    assert.equal(probes.calls.length, 3, "no probe once the database answered");
  });

  test("stopping ends probing, a probe in flight included", async () => {
    const probes = manualProbe();
    const breaker = new CircuitBreaker({ probe: (signal) => probes.probe(signal), log: quietLog });
    breaker.trip(new Error("unreachable"));
    const inFlight = await probes.call(1);
    await breaker.stop();
    assert.equal(inFlight.signal.aborted, true);
    assert.equal(probes.calls.length, 1);
    breaker.trip(new Error("after stopping"));
    assert.equal(probes.calls.length, 1, "a stopped breaker starts no probe");
  });
});
