import type { FastifyReply, FastifyRequest } from "fastify";
import type { FeedEvent, Subscription } from "../domain/changes.js";
import { ProblemError } from "../domain/errors.js";

export interface EventStreamSettings {
  /** Streams one process keeps open at most; one more is answered 503. */
  maxStreams: number;
  /** A comment is sent when nothing else was for this long, so that proxies keep idle streams open. */
  heartbeatMs: number;
}

export const DEFAULT_EVENT_STREAM_SETTINGS: EventStreamSettings = { maxStreams: 500, heartbeatMs: 15_000 };

/**
 * A client that reads slower than changes come is cut off past this much unsent data; it
 * reconnects with Last-Event-ID and misses nothing.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** How soon EventSource reconnects after the stream ends. */
const RECONNECT_MS = 1000;
const STREAM_FULL_RETRY_AFTER_SECONDS = 5;

/** What to send a stream: the changes of everyone, or of one person. */
export interface StreamFilter {
  personId?: number;
}

type Subscribe = (deliver: (events: readonly FeedEvent[]) => void) => Promise<Subscription>;

/**
 * The open Server-Sent Events streams of one process. Each is subscribed to the change feed and
 * sends what passes its filter; all of them end when the process starts draining, so that a
 * shutdown does not wait for clients that would otherwise stay forever.
 */
export class EventStreams {
  readonly #open = new Set<() => void>();
  #closed = false;

  constructor(readonly settings: EventStreamSettings = DEFAULT_EVENT_STREAM_SETTINGS) {}

  get open(): number {
    return this.#open.size;
  }

  /** Ends every stream, and refuses new ones from now on. */
  endAll(): void {
    this.#closed = true;
    for (const end of [...this.#open]) end();
  }

  /** Answers the request with a stream; a refusal (full, closing, database away) is a problem instead. */
  async serve(request: FastifyRequest, reply: FastifyReply, filter: StreamFilter, subscribe: Subscribe) {
    if (this.#closed) throw new ProblemError(503, "Service Unavailable", "The server is shutting down");
    if (this.#open.size >= this.settings.maxStreams) {
      reply.header("retry-after", String(STREAM_FULL_RETRY_AFTER_SECONDS));
      throw new ProblemError(503, "Service Unavailable", "Too many event streams are open; try again shortly");
    }
    // HEAD learns what a stream would be, without holding one open.
    if (request.method === "HEAD") {
      return reply.header("cache-control", "no-store").type("text/event-stream; charset=utf-8").send();
    }
    const res = reply.raw;
    let subscription: Subscription | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let ended = false;
    /** Until the head is written, what the feed sends waits here. */
    let pending: string | undefined = "";
    let lastWrite = Date.now();
    const end = ({ cut = false } = {}) => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      subscription?.close();
      this.#open.delete(end);
      // A client that does not read would keep what is unsent in memory; cut it loose instead.
      if (cut) res.destroy();
      else res.end();
    };
    const write = (text: string) => {
      if (ended) return;
      if (pending !== undefined) {
        pending += text;
        return;
      }
      lastWrite = Date.now();
      res.write(text);
      if (res.writableLength > MAX_UNSENT_BYTES) {
        request.log.warn({ unsentBytes: res.writableLength }, "event stream cut off: its client reads too slowly");
        end({ cut: true });
      }
    };
    const wanted = (event: FeedEvent) => filter.personId === undefined || event.personId === filter.personId;
    const send = (events: readonly FeedEvent[]) => {
      let text = "";
      for (const event of events) if (wanted(event)) text += frame(event);
      if (text !== "") write(text);
    };

    // The place is taken before waiting, so streams opened at once cannot pass the cap together,
    // and a client gone meanwhile is noticed.
    this.#open.add(end);
    res.on("close", () => end());
    try {
      // Subscribing first: a database that cannot be read is a 503 problem, before any byte is sent.
      subscription = await subscribe(send);
    } catch (error) {
      this.#open.delete(end);
      ended = true;
      throw error;
    }
    if (ended || res.destroyed) {
      subscription.close();
      return reply.hijack();
    }
    reply.hijack();
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // nginx and the like would otherwise hold events back to fill their buffers.
      "x-accel-buffering": "no",
    });
    heartbeat = setInterval(() => {
      if (Date.now() - lastWrite >= this.settings.heartbeatMs / 2) write(": heartbeat\n\n");
    }, this.settings.heartbeatMs);
    heartbeat.unref();
    // The first event says where the stream starts, so that even a client that has seen no change
    // yet resumes from there; `reload` when what the client asked for is gone.
    const { revision } = subscription;
    const opening =
      `retry: ${RECONNECT_MS}\n\n` +
      `id: ${revision}\nevent: ${subscription.reload ? "reload" : "ready"}\ndata: ${JSON.stringify({ revision })}\n\n`;
    const early = pending;
    pending = undefined;
    write(opening);
    send(subscription.missed);
    if (early !== "") write(early);
    if (this.#closed) end();
  }
}

/** One event; `data` is one line of JSON, which never holds a raw line break. */
const frame = (event: FeedEvent) => `id: ${event.revision}\nevent: ${event.kind}\ndata: ${event.data}\n\n`;
