import type { Note, PersonSummary } from "./api.js";

/** One change, as `GET /api/events` sends it. */
export type LiveChange =
  | { kind: "note.created" | "note.updated"; note: Note }
  | { kind: "note.deleted"; personId: number; noteId: number }
  | { kind: "person.created" | "person.updated"; person: PersonSummary }
  | { kind: "person.deleted"; personId: number }
  /** Changes were missed: whatever is shown must be read again. */
  | { kind: "reload" }
  /** The stream is open again, so the server is reachable: whatever failed to load may be read again. */
  | { kind: "connected" };

export type LiveStatus = "connecting" | "live" | "offline";

type Listener = (change: LiveChange) => void;

const RETRY_MS = { first: 1000, most: 30_000 };
const KINDS = ["note.created", "note.updated", "note.deleted", "person.created", "person.updated", "person.deleted"];

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
      if (this.#broken) this.#emit({ kind: "connected" });
      this.#broken = false;
    });
    source.addEventListener("error", () => {
      this.#broken = true;
      if (source.readyState === EventSource.CLOSED) this.#retryLater();
      else this.#setStatus("connecting");
    });
    // `ready` only says where the stream starts: its id is where a new stream resumes.
    for (const kind of [...KINDS, "reload", "ready"]) {
      source.addEventListener(kind, (event) => this.#receive(kind, event as MessageEvent<string>));
    }
  }

  #retryLater(): void {
    this.#source?.close();
    this.#setStatus("offline");
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = window.setTimeout(() => this.#open(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.most);
  }

  #receive(kind: string, event: MessageEvent<string>): void {
    if (event.lastEventId !== "") this.#lastId = event.lastEventId;
    const change = toChange(kind, JSON.parse(event.data) as Record<string, unknown>);
    if (change) this.#emit(change);
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

function toChange(kind: string, data: Record<string, unknown>): LiveChange | undefined {
  switch (kind) {
    case "note.created":
    case "note.updated":
      return { kind, note: data as unknown as Note };
    case "note.deleted":
      return { kind, personId: Number(data.person_id), noteId: Number(data.note_id) };
    case "person.created":
    case "person.updated":
      return { kind, person: data as unknown as PersonSummary };
    case "person.deleted":
      return { kind, personId: Number(data.person_id) };
    case "reload":
      return { kind };
    default:
      return undefined;
  }
}
