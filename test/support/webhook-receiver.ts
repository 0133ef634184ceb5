import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WAIT_LIMIT_MS } from "./limits.js";

export interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver does with a request: answer with a status, or leave it hanging. */
export type Behaviour = (received: Received, index: number, response: ServerResponse) => number | "hang" | "handled";

/**
 * An HTTP server on loopback that records every webhook it is sent, as a receiver would get it,
 * and answers as `behaviour` says (200 unless told otherwise).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly events = new EventEmitter();
  behaviour: Behaviour = () => 200;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Milliseconds each answer waits before it is sent. */
  delayMs = 0;
  readonly #hanging = new Set<ServerResponse>();
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.#server.listen(0, "127.0.0.1");
    await once(receiver.#server, "listening");
    return receiver;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/hook`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
    ) as Record<string, string>;
    const received = { headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
    const index = this.received.push(received) - 1;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.events.emit("request", received);
    const answer = this.behaviour(received, index, response);
    const done = () => {
      this.inFlight--;
      this.events.emit("answered", received);
    };
    if (answer === "hang") {
      this.#hanging.add(response);
      response.on("close", done);
      return;
    }
    if (answer === "handled") {
      response.on("close", done);
      return;
    }
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    done();
    response.writeHead(answer, { "content-type": "text/plain" }).end("ok");
  }

  /** Resolves once `condition` holds, checked after each request; fails after `ms`. */
  async until(condition: () => boolean, what: string, ms = WAIT_LIMIT_MS): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.events.off("request", check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.events.off("request", check);
        reject(new Error(`timed out waiting for ${what}: ${this.received.length} requests received`));
      }, ms);
      this.events.on("request", check);
    });
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }
}
