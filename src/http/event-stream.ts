import type { FastifyReply, FastifyRequest } from "fastify";
import type { FeedEvent, Subscription } from "../domain/changes.js";
import { ProblemError } from "../domain/errors.js";
import { DEFAULT_EVENT_STREAM_SETTINGS, type EventStreamSettings } from "./settings.js";

/**
 * A client that reads slower than changes come is cut off past this much of them unsent; it
 * reconnects with Last-Event-ID and misses nothing. What a resume replays does not count: it goes
 * out only as fast as the client takes it.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** A replay is handed to the socket this much at a time, the next once the socket has taken it. */
const REPLAY_CHUNK_CHARS = 64 * 1024;
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
    /** Nothing goes out before the head; what the feed sends meanwhile waits in `live`. */
    let started = false;
    /** What a resume replays, before anything live; the first `replayed` are on their way. */
    let replay: readonly FeedEvent[] = [];
    let replayed = 0;
    /** Live text the socket has not been handed yet, in order, and its size. */
    let live: string[] = [];
    let liveBytes = 0;
    /** Since when the socket has asked to be given nothing more until it drains. */
    let fullSince: number | undefined;
    let lastWrite = Date.now();
    const end = ({ cut = false } = {}) => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      subscription?.close();
      this.#open.delete(end);
      replay = [];
      live = [];
      // A client that does not read would keep what is unsent in memory; cut it loose instead.
      if (cut) res.destroy();
      else res.end();
    };
    const drained = () => {
      fullSince = undefined;
      flush();
    };
    const put = (text: string) => {
      lastWrite = Date.now();
      if (res.write(text)) return;
      fullSince = lastWrite;
      res.once("drain", drained);
    };
    /** Hands the socket the replay, then what is live, as long as it takes them. */
    const flush = () => {
      while (started && !ended && fullSince === undefined) {
        let text = "";
        while (replayed < replay.length && text.length < REPLAY_CHUNK_CHARS) {
          const event = replay[replayed++];
          if (event !== undefined && wanted(event)) text += frame(event);
        }
        if (text === "") {
          replay = [];
          if (live.length === 0) return;
          text = live.join("");
          live = [];
          liveBytes = 0;
        }
        put(text);
      }
    };
    const write = (text: string) => {
      if (ended) return;
      live.push(text);
      liveBytes += Buffer.byteLength(text);
      flush();
      // The live changes waiting, and what the socket holds: besides them at most one part of a
      // replay, which is handed over only as the socket drains, so a backlog alone never counts.
      const unsent = liveBytes + res.writableLength;
      if (started && unsent > MAX_UNSENT_BYTES) {
        request.log.warn({ unsentBytes: unsent }, "event stream cut off: its client reads too slowly");
        end({ cut: true });
      }
    };
    const wanted = (event: FeedEvent) => filter.personId === undefined || event.personId === filter.personId;
    const send = (events: readonly FeedEvent[], reload?: { revision: number }) => {
      if (reload) return write(position("reload", reload.revision));
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
      if (fullSince !== undefined) {
        // Nothing taken for a whole interval: the client stopped reading, or its connection is gone.
        if (Date.now() - fullSince < this.settings.heartbeatMs) return;
        request.log.warn({ unsentBytes: res.writableLength }, "event stream cut off: its client stopped reading");
        end({ cut: true });
      } else if (Date.now() - lastWrite >= this.settings.heartbeatMs / 2) {
        write(": heartbeat\n\n");
      }
    }, this.settings.heartbeatMs);
    heartbeat.unref();
    // The first event says where the stream starts, so that even a client that has seen no change
    // yet resumes from there; `reload` when what the client asked for is gone.
    const { revision } = subscription;
    started = true;
    put(`retry: ${RECONNECT_MS}\n\n${position(subscription.reload ? "reload" : "ready", revision)}`);
    replay = subscription.missed;
    flush();
    if (this.#closed) end();
  }
}

/** Where the stream stands (`ready`), or that what the client shows must be read again (`reload`). */
const position = (event: "ready" | "reload", revision: number) =>
  `id: ${revision}\nevent: ${event}\ndata: ${JSON.stringify({ revision })}\n\n`;

/** One event; `data` is one line of JSON, which never holds a raw line break. */
const frame = (event: FeedEvent) => `id: ${event.revision}\nevent: ${event.kind}\ndata: ${event.data}\n\n`;
