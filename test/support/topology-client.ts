/**
 * The client of test/fault/topology.test.ts, run inside the client's network namespace (the test
 * process cannot reach the balancer from its own). It takes one JSON command a line on standard
 * input and writes one JSON record a line on standard output:
 *
 *   {"cmd":"request","id":1,"method":"GET","path":"/api/people/4"}  → {"type":"response","id":1,…}
 *   {"cmd":"load","clients":4}     writes and reads in a loop per client, each reported ({"type":"load",…})
 *   {"cmd":"stop-load"}            → {"type":"load-stopped"} once every client's last request ended
 *   {"cmd":"stream"}               holds GET /api/events open, reconnecting with Last-Event-ID
 *   {"cmd":"slow-uploads","count":12}  people POSTs whose bodies stop halfway…
 *   {"cmd":"finish-uploads"}       …until this; each answer reported as a load record ("slow": true)
 *   {"cmd":"exit"}
 *
 * Environment: BASE (the balancer's URL), TOKEN (an admin token, for the writes).
 */
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

const base = process.env.BASE ?? "";
const token = process.env.TOKEN ?? "";
/** Every request is bounded; a hang is reported as a failure, not waited out. */
const REQUEST_LIMIT_MS = 15_000;
/** Each load client stops after this many requests or this long, whatever the test does. */
const MAX_LOAD_REQUESTS = 5_000;
const MAX_LOAD_MS = 120_000;
const MAX_STREAM_CONNECTIONS = 200;
const STREAM_RETRY_MS = 100;

const emit = (record: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(record)}\n`);

/** The parts of an answer the test checks: status, who served it, and the fields it names. */
interface Outcome {
  status?: number;
  servedBy?: string | null;
  contentType?: string | null;
  body?: unknown;
  text?: string;
  error?: string;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  stream?: ReadableStream<Uint8Array>,
) {
  const started = Date.now();
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json", authorization: `Bearer ${token}` }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: stream ?? JSON.stringify(body), duplex: "half" }),
      signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const outcome: Outcome = {
      status: response.status,
      servedBy: response.headers.get("x-served-by"),
      contentType: response.headers.get("content-type"),
      ...(parsed === undefined ? { text: text.slice(0, 300) } : { body: parsed }),
    };
    return { started, ended: Date.now(), ...outcome };
  } catch (error) {
    const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
    return { started, ended: Date.now(), error: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

const name = () => `T${randomBytes(5).toString("hex")}`;

let loadStopping = false;
let loadClients: Promise<void>[] = [];

/** One client: a person, a note for them, a read of them, over and over, one request at a time. */
async function loadClient(client: number): Promise<void> {
  const until = Date.now() + MAX_LOAD_MS;
  let person: { person_id: number; fname: string; lname: string } | undefined;
  for (let i = 0; i < MAX_LOAD_REQUESTS && !loadStopping && Date.now() < until; i++) {
    const step = person === undefined ? 0 : i % 3;
    if (step === 0) {
      const sent = { fname: name(), lname: name() };
      const outcome = await call("POST", "/api/people", sent);
      emit({ type: "load", client, op: "create-person", sent, ...outcome });
      const body = outcome.body as { person_id?: number } | undefined;
      if (outcome.status === 201 && typeof body?.person_id === "number")
        person = { ...sent, person_id: body.person_id };
    } else if (step === 1 && person) {
      const sent = { person_id: person.person_id, content: `note ${name()}` };
      const outcome = await call("POST", `/api/people/${person.person_id}/notes`, { content: sent.content });
      emit({ type: "load", client, op: "create-note", sent, ...outcome });
    } else if (person) {
      const outcome = await call("GET", `/api/people/${person.person_id}`);
      emit({ type: "load", client, op: "read-person", sent: person, ...outcome });
    }
  }
}

let finishUploads: () => void = () => {};
const uploadsMayFinish = new Promise<void>((resolve) => {
  finishUploads = resolve;
});

/** A request that has reached a host and stays there, unfinished, until `finish-uploads`. */
async function slowUpload(index: number): Promise<void> {
  const sent = { fname: name(), lname: name() };
  const text = JSON.stringify(sent);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(text.slice(0, 10)));
      await uploadsMayFinish;
      controller.enqueue(encoder.encode(text.slice(10)));
      controller.close();
    },
  });
  const outcome = await call("POST", "/api/people", sent, {}, body);
  emit({ type: "load", client: -1 - index, slow: true, op: "create-person", sent, ...outcome });
}

let streamClosing = false;
let streamAbort: AbortController | undefined;

/** An EventSource's behaviour, bounded: on any end, reconnect with the last id seen. */
async function holdStream(): Promise<void> {
  let lastEventId: string | undefined;
  for (let connection = 0; connection < MAX_STREAM_CONNECTIONS && !streamClosing; connection++) {
    streamAbort = new AbortController();
    let how = "ended";
    try {
      const response = await fetch(`${base}/api/events`, {
        headers: { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
        signal: streamAbort.signal,
      });
      emit({
        type: "stream-open",
        connection,
        status: response.status,
        servedBy: response.headers.get("x-served-by"),
        lastEventId,
      });
      if (response.status === 200 && response.body) {
        const decoder = new TextDecoder();
        let buffer = "";
        const reader = response.body.getReader();
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          buffer += decoder.decode(chunk.value, { stream: true });
          for (let at = buffer.indexOf("\n\n"); at !== -1; at = buffer.indexOf("\n\n")) {
            const block = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            let id: string | undefined;
            let event = "message";
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("id: ")) id = line.slice(4);
              else if (line.startsWith("event: ")) event = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (data === "") continue;
            if (id !== undefined) lastEventId = id;
            emit({ type: "event", connection, id, event, data: JSON.parse(data) });
          }
        }
      } else {
        await response.arrayBuffer().catch(() => {});
      }
    } catch (error) {
      how = streamClosing
        ? "closed"
        : `broken: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`;
    }
    emit({ type: "stream-end", connection, how });
    await sleep(STREAM_RETRY_MS);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as {
    cmd: string;
    id?: number;
    method?: string;
    path?: string;
    clients?: number;
    count?: number;
  };
  if (command.cmd === "request") {
    const { id, method = "GET", path = "/" } = command;
    void call(method, path).then((outcome) => emit({ type: "response", id, ...outcome }));
  } else if (command.cmd === "load") {
    loadStopping = false;
    loadClients = Array.from({ length: Number(command.clients) }, (_, client) => loadClient(client));
  } else if (command.cmd === "stop-load") {
    loadStopping = true;
    void Promise.all(loadClients).then(() => emit({ type: "load-stopped" }));
  } else if (command.cmd === "slow-uploads") {
    for (let index = 0; index < Number(command.count); index++) void slowUpload(index);
  } else if (command.cmd === "finish-uploads") {
    finishUploads();
  } else if (command.cmd === "stream") {
    void holdStream();
  } else if (command.cmd === "exit") {
    break;
  }
}
streamClosing = true;
streamAbort?.abort();
process.exit(0);
