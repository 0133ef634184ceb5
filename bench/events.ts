/**
 * `npm run bench -- --events`: 500 event streams open on one server process: its memory and CPU
 * with them idle, and while notes are written, with how long each note took to reach every stream.
 *
 *   BENCH_EVENTS_STREAMS=10000 BENCH_EVENTS_WATCHED=500 BENCH_EVENTS_NOTES=30 BENCH_EVENTS_RATE=1 npm run bench -- --events
 *
 * The server's EVENTS_MAX_STREAMS is set to the number of streams, and MAX_CONNECTIONS raised when
 * they would not fit in its default. The client parses every event of the streams it watches (all
 * unless BENCH_EVENTS_WATCHED says fewer: every k-th one opened), so with many streams a sample
 * keeps the client from being the bottleneck it measures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, HOST, type RunningServer, residentMb, serviceSpec, startServer, stopServer } from "./servers.js";

const PORT = 5207;
const whole = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number above 0`);
  return value;
};
const STREAMS = whole("BENCH_EVENTS_STREAMS", 500);
const NOTES = whole("BENCH_EVENTS_NOTES", 200);
const NOTES_PER_SECOND = whole("BENCH_EVENTS_RATE", 20);
/** Streams whose events the client parses and times (every k-th opened); the others are left unread. */
const WATCHED = Math.min(STREAMS, whole("BENCH_EVENTS_WATCHED", STREAMS));
const IDLE_SECONDS = 10;

interface Stream {
  /** When each note (by its content) arrived. */
  arrivals: Map<string, number>;
  close(): void;
}

/**
 * Opens a stream; one that is not `watched` is left unread (its bytes wait in the client's buffers),
 * so that with thousands of streams the client parses a sample and the server still writes to all.
 */
function openStream(url: string, watched = true): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const arrivals = new Map<string, number>();
    const req = request(url, { headers: { accept: "text/event-stream" }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream refused: ${res.statusCode}`));
        res.resume();
        return;
      }
      if (!watched) {
        res.pause();
        resolve({ arrivals, close: () => req.destroy() });
        return;
      }
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const content = /"content":"(bench note \d+)"/.exec(block)?.[1];
          if (content) arrivals.set(content, performance.now());
        }
      });
      resolve({ arrivals, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export interface EventsFigures {
  streams: number;
  /** Streams whose deliveries were timed. */
  watched: number;
  /** Time to open every stream, one after another. */
  openSeconds: number;
  rssBeforeMb: number;
  rssOpenMb: number;
  idleCpuPercent: number;
  writeCpuPercent: number;
  notes: number;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  deliveryMaxMs: number;
}

export async function measureEvents(): Promise<EventsFigures> {
  const dir = mkdtempSync(join(tmpdir(), "people-notes-bench-events-"));
  const spec = serviceSpec(PORT, `sqlite:${join(dir, "events.db")}`);
  spec.env.LOG_LEVEL = "warn";
  spec.env.EVENTS_MAX_STREAMS = String(STREAMS);
  if (STREAMS + 100 > 1024) spec.env.MAX_CONNECTIONS = String(STREAMS + 100);
  const server: RunningServer = await startServer(spec);
  const streams: Stream[] = [];
  try {
    const rssBeforeMb = residentMb(server.process.pid) ?? Number.NaN;
    const opening = performance.now();
    const every = Math.ceil(STREAMS / WATCHED);
    const watched: Stream[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const isWatched = i % every === every - 1;
      const stream = await openStream(`${server.url}/api/events`, isWatched);
      streams.push(stream);
      if (isWatched) watched.push(stream);
    }
    const openSeconds = (performance.now() - opening) / 1000;
    await sleep(1000);
    const rssOpenMb = residentMb(server.process.pid) ?? Number.NaN;

    const idleStart = cpuSeconds(server);
    await sleep(IDLE_SECONDS * 1000);
    const idleCpuPercent = ((cpuSeconds(server) - idleStart) / IDLE_SECONDS) * 100;

    const sent = new Map<string, number>();
    const writeStart = cpuSeconds(server);
    const started = performance.now();
    for (let i = 0; i < NOTES; i++) {
      const content = `bench note ${i}`;
      const body = JSON.stringify({ content });
      sent.set(content, performance.now());
      const response = await fetch(`http://${HOST}:${PORT}/api/people/1/notes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (response.status !== 201)
        throw new Error(`POST ${i + 1} answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      await sleep(Math.max(0, started + ((i + 1) * 1000) / NOTES_PER_SECOND - performance.now()));
    }
    await sleep(2000);
    const writeSeconds = (performance.now() - started) / 1000;
    const writeCpuPercent = ((cpuSeconds(server) - writeStart) / writeSeconds) * 100;

    const delays: number[] = [];
    for (const stream of watched) {
      for (const [content, at] of sent) {
        const arrived = stream.arrivals.get(content);
        if (arrived === undefined) throw new Error(`${content} never reached a stream`);
        delays.push(arrived - at);
      }
    }
    delays.sort((a, b) => a - b);
    const figures: EventsFigures = {
      streams: STREAMS,
      watched: watched.length,
      openSeconds,
      rssBeforeMb,
      rssOpenMb,
      idleCpuPercent,
      writeCpuPercent,
      notes: NOTES,
      deliveryP50Ms: percentile(delays, 50),
      deliveryP99Ms: percentile(delays, 99),
      deliveryMaxMs: delays.at(-1) ?? Number.NaN,
    };
    console.log(JSON.stringify(figures, null, 2));
    const perStreamKb = ((rssOpenMb - rssBeforeMb) * 1024) / STREAMS;
    const load = loadavg()
      .map((x) => x.toFixed(1))
      .join(" ");
    console.log(
      `${STREAMS} streams: ${perStreamKb.toFixed(1)} KB RSS each, idle CPU ${(idleCpuPercent / STREAMS).toFixed(4)} % of a core each; ` +
        `${NOTES} notes at ${NOTES_PER_SECOND}/s, delivery to ${watched.length} of them p50/p99/max ${figures.deliveryP50Ms.toFixed(0)}/${figures.deliveryP99Ms.toFixed(0)}/${figures.deliveryMaxMs.toFixed(0)} ms; load ${load}`,
    );
    return figures;
  } finally {
    for (const stream of streams) stream.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
