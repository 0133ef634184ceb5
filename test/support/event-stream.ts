import { setTimeout as sleep } from "node:timers/promises";

export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: string;
}

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
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  /** Waits (at most `ms`) until `count` events have come, and returns them. */
  take(count: number, ms?: number): Promise<StreamEvent[]>;
  /** Waits until `matches` accepts an event, and returns it. */
  waitFor(matches: (event: StreamEvent) => boolean, ms?: number): Promise<StreamEvent>;
  close(): void;
}

/** Opens `url` as an event stream, parsing events as they come (the format EventSource reads). */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  const body = response.status === 200 ? "" : await response.text();
  const events: StreamEvent[] = [];
  const comments: string[] = [];
  let ready: StreamEvent | undefined;
  let buffer = "";
  const parse = () => {
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
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
  const ended = (async () => {
    if (!response.body || response.status !== 200) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
    } catch {
      // Closed by the test.
    }
  })();
  const waitFor = async (matches: (event: StreamEvent) => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = events.find(matches);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no such event within ${ms} ms; got ${JSON.stringify(events.map((e) => [e.id, e.event]))}`);
      }
      await sleep(10);
    }
  };
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
    async take(count, ms = 5000) {
      const deadline = Date.now() + ms;
      while (events.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`${events.length} of ${count} events within ${ms} ms: ${JSON.stringify(events)}`);
        }
        await sleep(10);
      }
      return events.slice(0, count);
    },
    waitFor,
    close: () => abort.abort(),
  };
}
