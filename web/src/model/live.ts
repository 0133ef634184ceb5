import type { components } from "../../../openapi/types.js";

type Schemas = components["schemas"];
/** One event of `GET /api/events`, as the contract describes it. */
export type StreamEvent = Schemas["StreamEvent"];
type EventName = StreamEvent["event"];

/**
 * What the lists follow: every event after `ready` (a change; `reload` when changes were missed and
 * whatever is shown must be read again), and `connected` when the stream opens again, so the
 * server is reachable and whatever failed to load may be read again.
 */
export type LiveChange = Exclude<StreamEvent, Schemas["ReadyEvent"]> | { event: "connected" };

export type LiveStatus = "connecting" | "live" | "offline";

type Listener = (change: LiveChange) => void;

const RETRY_MS = { first: 1000, most: 30_000 };
/** The events to listen for: the compiler holds this to the contract's names, none missing, none more. */
const EVENT_NAMES = Object.keys({
  ready: true,
  reload: true,
  "person.created": true,
  "person.updated": true,
  "person.deleted": true,
  "person.restored": true,
  "note.created": true,
  "note.updated": true,
  "note.deleted": true,
  "note.restored": true,
} satisfies Record<EventName, true>) as EventName[];

/**
 * The app's one event stream. EventSource reconnects by itself after a dropped connection and
 * resumes with Last-Event-ID; when the server refuses a stream (busy, shutting down) it gives up,
 * so this opens a new one after a growing pause, resuming from the last event seen.
 */
export class LiveFeed {
  status: LiveStatus = "connecting";
  readonly #listeners = new Set<Listener>();
  #source: EventSource | undefined;
  #lastId: string | undefined;
  #retryMs = RETRY_MS.first;
  #retryTimer: number | undefined;
  /** The stream failed since it last opened (or never opened): the next opening is a reconnection. */
  #broken = false;

  constructor(private readonly statusChanged: () => void) {}

  start(): void {
    this.#open();
  }

  /** Calls `listener` with every change from now on; returns what stops it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #open(): void {
    const since = this.#lastId === undefined ? "" : `?since=${encodeURIComponent(this.#lastId)}`;
    const source = new EventSource(`/api/events${since}`);
    this.#source = source;
    source.addEventListener("open", () => {
      this.#retryMs = RETRY_MS.first;
      this.#setStatus("live");
      if (this.#broken) this.#emit({ event: "connected" });
      this.#broken = false;
    });
    source.addEventListener("error", () => {
      this.#broken = true;
      if (source.readyState === EventSource.CLOSED) this.#retryLater();
      else this.#setStatus("connecting");
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (event) => this.#receive(name, event as MessageEvent<string>));
    }
  }

  #retryLater(): void {
    this.#source?.close();
    this.#setStatus("offline");
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = window.setTimeout(() => this.#open(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.most);
  }

  #receive(name: EventName, message: MessageEvent<string>): void {
    if (message.lastEventId !== "") this.#lastId = message.lastEventId;
    const event = { id: message.lastEventId, event: name, data: JSON.parse(message.data) } as StreamEvent;
    // `ready` only says where the stream starts: its id is where a new stream resumes.
    if (event.event !== "ready") this.#emit(event);
  }

  #emit(change: LiveChange): void {
    for (const listener of [...this.#listeners]) listener(change);
  }

  #setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.statusChanged();
  }
}
