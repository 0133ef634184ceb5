import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { post } from "../../src/domain/webhook-requests.js";

/**
 * A delivery whose process began to stop before the request was sent: it ends as stopped, and the
 * request it destroys raises nothing (an `error` event with no listener would end the process).
 */
test("a POST whose signal is already aborted ends as stopped and raises nothing", async (t) => {
  const server = createServer((_request, response) => response.end("ok"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  t.after(() => process.off("uncaughtException", onUncaught));

  const { port } = server.address() as AddressInfo;
  const result = await post({
    url: new URL(`http://127.0.0.1:${port}/hook`),
    headers: {},
    body: "{}",
    allowPrivate: true,
    connectTimeoutMs: 5_000,
    timeoutMs: 5_000,
    maxResponseBytes: 1024,
    signal: AbortSignal.abort(),
  });
  assert.equal(result.error, "stopped: the process is shutting down");
  assert.equal(result.status, undefined);
  // The destroyed request reports its error on a later turn of the loop.
  await sleep(100);
  assert.deepEqual(uncaught, []);
});
