import { setTimeout as sleep } from "node:timers/promises";

export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** How a stream ended: the server ended it, the connection broke (a cut), or the test closed it. */
export type StreamEnd = "ended" | "broken" | "closed";

export interface OpenStream {
  status: number;
  headers: Headers;
  /** The whole body of an answer that is not a stream (a problem). */
  body: string;
  /** The opening `ready` event: where the stream starts. */
  readonly ready: StreamEvent | undefined;
  /** Every event so far after `ready`, in order. */
  events: StreamEvent[];
  /** Comment lines so far (heartbeats). */
  comments: string[];
  /** Resolves when the stream ended, and how; it only can once it is read. */
  ended: Promise<StreamEnd>;
  /** Starts reading a stream opened with `{ read: false }`: until then the client takes nothing. */
  read(): void;
  /** Waits (at most `ms`) until `count` events have come, and returns them. */
  take(count: number, ms?: number): Promise<StreamEvent[]>;
  /** Waits until `matches` accepts an event, and returns it. */
  waitFor(matches: (event: StreamEvent) => boolean, ms?: number): Promise<StreamEvent>;
  close(): void;
}

/**
 * Opens `url` as an event stream, parsing events as they come (the format EventSource reads).
 * With `read: false` nothing is read until `read()`, as a client that stopped reading.
 */
export async function openStream(
  url: string,
  headers: Record<string, string> = {},
  { read = true } = {},
): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  const body = response.status === 200 ? "" : await response.text();
  const events: StreamEvent[] = [];
  const comments: string[] = [];
  let ready: StreamEvent | undefined;
  let buffer = "";
  let end: StreamEnd | undefined;
  const parse = () => {
    for (let at = buffer.indexOf("\n\n"); at !== -1; at = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      let id: string | undefined;
      let event = "message";
      const data: string[] = [];
      let isEvent = false;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        else if (line.startsWith("id: ")) [id, isEvent] = [line.slice(4), true];
        else if (line.startsWith("event: ")) [event, isEvent] = [line.slice(7), true];
        else if (line.startsWith("data: ")) [isEvent] = [true, data.push(line.slice(6))];
      }
      if (!isEvent || data.length === 0) continue;
      if (event === "ready" && ready === undefined && events.length === 0) ready = { id, event, data: data.join("\n") };
      else events.push({ id, event, data: data.join("\n") });
    }
  };
  let startReading: () => void = () => {};
  const reading = new Promise<void>((resolve) => {
    startReading = resolve;
  });
  const ended = (async (): Promise<StreamEnd> => {
    if (!response.body || response.status !== 200) return "ended";
    await reading;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
      return "ended";
    } catch {
      return abort.signal.aborted ? "closed" : "broken";
    }
  })().then((how) => {
    end = how;
    return how;
  });
  if (read) startReading();
  /** Waits until `found` finds something, failing at once when the stream ended without it. */
  const until = async <T>(found: () => T | undefined, ms: number, missing: () => string): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (end !== undefined) throw new Error(`the stream ${end} without it: ${missing()}`);
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${missing()}`);
      await sleep(10);
    }
  };
  const got = () => JSON.stringify(events.map((e) => [e.id, e.event]));
  return {
    status: response.status,
    headers: response.headers,
    body,
    get ready() {
      return ready;
    },
    events,
    comments,
    ended,
    read: () => startReading(),
    take: (count, ms = 5000) =>
      until(
        () => (events.length >= count ? events.slice(0, count) : undefined),
        ms,
        () => `${events.length} of ${count} events: ${got()}`,
      ),
    waitFor: (matches, ms = 5000) =>
      until(
        () => events.find(matches),
        ms,
        () => `no such event; got ${got()}`,
      ),
    close: () => {
      abort.abort();
      startReading();
    },
  };
}
