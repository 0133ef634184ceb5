/**
 * Makes one kind of request costlier, to show that the gate (bench/gate.ts) catches it: loaded with
 * `node --import` into the service's process by the gate's own test, never by the service's config.
 *
 *   BENCH_SLOW_REQUEST="GET /api/people/"  method and path prefix of the requests to slow
 *   BENCH_SLOW_MICROSECONDS=200            CPU time spent on each of them before the service sees it
 */
import { Server } from "node:http";

const [method, prefix] = (process.env.BENCH_SLOW_REQUEST ?? "").split(" ");
const microseconds = Number(process.env.BENCH_SLOW_MICROSECONDS ?? 0);
if (!method || !prefix || !(microseconds > 0)) {
  throw new Error("BENCH_SLOW_REQUEST (METHOD /path-prefix) and BENCH_SLOW_MICROSECONDS are required");
}

function spin() {
  const until = process.hrtime.bigint() + BigInt(Math.round(microseconds * 1000));
  while (process.hrtime.bigint() < until) {
    // busy: CPU time, not waiting
  }
}

const emit = Server.prototype.emit;
Server.prototype.emit = function (event, ...args) {
  if (event === "request") {
    const [request] = args;
    if (request.method === method && request.url.startsWith(prefix)) spin();
  }
  return emit.call(this, event, ...args);
};
