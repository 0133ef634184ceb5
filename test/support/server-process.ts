import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { resolve } from "node:path";
import { START_LIMIT_MS, TEST_DATABASE_ENV } from "./limits.js";

const root = resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** What it has printed on standard output alone. */
  stdout: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the process to exit; resolves to its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL unless it has exited already, then wait for the exit: for cleaning up after a failed test. */
  kill(): Promise<number | null>;
}

/** How to run the service: the arguments after `node`, the built server by default. */
export interface SpawnOptions {
  args?: string[];
  /**
   * A command that sets something up and then becomes `node` (it must exec it, keeping the process
   * id, so that signals reach the server): `["prlimit", "--nofile=128"]` runs it with 128 descriptors.
   */
  under?: string[];
}

/** Runs the built server (dist/server.js) as a separate process, collecting what it prints. */
function spawnServer(env: Record<string, string>, { args = ["dist/server.js"], under = [] }: SpawnOptions = {}) {
  const [command = process.execPath, ...prefix] = [...under, process.execPath];
  const child = spawn(command, [...prefix, ...args], {
    cwd: root,
    env: { ...process.env, ...TEST_DATABASE_ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  return { child, output: () => output, stdout: () => stdout };
}

/** Starts the server on a free port and waits until it answers. */
export async function startServer(env: Record<string, string>, options: SpawnOptions = {}): Promise<RunningServer> {
  const port = await freePort();
  const { child, output, stdout } = spawnServer(
    // Write bursts from this one address are what many of these tests are made of: no write limit
    // unless a test sets one. A test machine busy with browsers can lag a second at start-up, which
    // would shed the first requests; shedding is tested on its own (test/fault/server-limits.test.ts).
    {
      LOG_LEVEL: "warn",
      RATE_LIMIT_WRITES_PER_MINUTE: "0",
      SHED_EVENT_LOOP_DELAY_MS: "10000",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    options,
  );
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_LIMIT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not answer within ${START_LIMIT_MS / 1000} s:\n${output()}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = () => {
    if (running()) child.kill("SIGTERM");
    return exited;
  };
  const kill = () => {
    if (running()) child.kill("SIGKILL");
    return exited;
  };
  return { url, child, output, stdout, exited, stop, kill };
}

/** Runs the server entry point to completion (for start-up failures); killed after START_LIMIT_MS. */
export async function runToExit(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnServer(env, options);
  // One that does not stop by itself is killed, so that it cannot keep the test process alive.
  const limit = setTimeout(() => child.kill("SIGKILL"), START_LIMIT_MS);
  try {
    const [code] = await once(child, "exit");
    return { code: code as number | null, output: output() };
  } finally {
    clearTimeout(limit);
  }
}

/** The promise's value, or an error naming `what` if it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/** The head of an HTTP/1.1 request, ready to write to a socket. */
export function requestHead(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    "host: 127.0.0.1",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * One TCP connection to the server, spoken to in raw HTTP/1.1, so that a test decides when each
 * byte is sent and sees exactly how the connection ends (answered, closed, or reset).
 */
export class RawConnection {
  /** Once the socket has closed: "end" when it closed cleanly, else the error code (ECONNRESET…). */
  closeReason: string | undefined;
  readonly closed: Promise<void>;
  private received = Buffer.alloc(0);
  private readonly responses: RawResponse[] = [];
  private read = 0;
  private readonly changed = new EventEmitter();

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.parse();
      this.changed.emit("change");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.closeReason ??= error.code ?? error.message;
    });
    this.closed = new Promise((done) =>
      socket.once("close", () => {
        this.closeReason ??= "end";
        this.changed.emit("change");
        done();
      }),
    );
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    await once(socket, "connect");
    return new RawConnection(socket);
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** The next response on this connection (a 100 Continue included); fails if the connection ends first. */
  async next(timeoutMs = 5_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.responses.length) {
      if (this.closeReason) throw new Error(`the connection closed (${this.closeReason}) before a response`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await once(this.changed, "change", { signal: AbortSignal.timeout(left) }).catch(() => {});
    }
    return this.responses[this.read++] as RawResponse;
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const end = this.received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...fields] = this.received.subarray(0, end).toString("latin1").split("\r\n");
      const headers = Object.fromEntries(
        fields.map((field) => {
          const colon = field.indexOf(":");
          return [field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim()];
        }),
      );
      const status = Number(statusLine.split(" ")[1]);
      const length = status < 200 || status === 204 || status === 304 ? 0 : Number(headers["content-length"]);
      if (Number.isNaN(length)) {
        this.socket.destroy(new Error(`a ${status} response without content-length`));
        return;
      }
      if (this.received.length < end + 4 + length) return;
      const body = this.received.subarray(end + 4, end + 4 + length).toString("utf8");
      this.received = this.received.subarray(end + 4 + length);
      this.responses.push({ status, headers, body });
    }
  }
}

/** One request on a connection of its own. */
export async function rawRequest(
  url: string,
  method: string,
  path: string,
  { headers = {}, body = "" }: { headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const connection = await RawConnection.open(url);
  try {
    const length: Record<string, number> = body === "" ? {} : { "content-length": Buffer.byteLength(body) };
    connection.send(requestHead(method, path, { ...headers, ...length }) + body);
    return await connection.next();
  } finally {
    connection.close();
  }
}

/** The head of a note upload for person 1, sent with `Expect: 100-continue` so its 100 proves the server has it. */
export function noteUpload(body: string): string {
  return requestHead("POST", "/api/people/1/notes", {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    expect: "100-continue",
  });
}

/** A note upload held open: its head answered with 100, and the first `sent` characters of its body sent. */
export async function startUpload(url: string, body: string, sent: number): Promise<RawConnection> {
  const connection = await RawConnection.open(url);
  connection.send(noteUpload(body));
  assert.equal((await connection.next()).status, 100, "the server has received the request");
  connection.send(body.slice(0, sent));
  return connection;
}

/** Whether a new connection to the server is refused (its listener has closed). */
export async function connectionRefused(url: string): Promise<boolean> {
  try {
    (await RawConnection.open(url)).close();
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
  }
}
