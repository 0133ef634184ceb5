import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

/**
 * - `forward`: pass bytes both ways.
 * - `refuse`: reset every new connection at once; established ones carry on.
 * - `blackhole`: accept new connections and never answer; established ones stop passing bytes but
 *   stay open, as in a network partition. Back in `forward`, everything held flows again.
 */
export type ProxyMode = "forward" | "refuse" | "blackhole";

export interface TcpProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  port: number;
  mode: ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Destroys every established connection. */
  cut(): void;
  /** Holds every chunk this long before passing it on. */
  latency(ms: number): void;
  /**
   * The next time a client sends bytes matching `pattern` (read as Latin-1, so a query's text),
   * passes them on, then cuts that connection `afterMs` later, before any answer comes back.
   * Resolves once it has.
   */
  cutAfterClientSends(pattern: RegExp, afterMs?: number): Promise<void>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

const ignore = () => {};

/** One client connection and its connection to the target, opened the first time bytes may flow. */
class Link {
  private upstream: Socket | undefined;
  /** Answers from the target are dropped: the connection is about to be cut. */
  holdingAnswers = false;

  constructor(
    private readonly client: Socket,
    private readonly target: { host: string; port: number },
    private readonly delay: () => number,
    private readonly onClose: (link: Link) => void,
    private readonly inspect: (link: Link, chunk: Buffer) => void,
  ) {
    client.pause();
    client.on("error", ignore);
    client.on("close", () => this.destroy());
  }

  flow(): void {
    if (!this.upstream) {
      const upstream = connect(this.target);
      upstream.on("error", ignore);
      upstream.on("close", () => this.destroy());
      this.client.on("data", (chunk: Buffer) => this.inspect(this, chunk));
      pump(this.client, upstream, this.delay);
      pump(upstream, this.client, this.delay, () => this.holdingAnswers);
      this.upstream = upstream;
    }
    this.client.resume();
    this.upstream.resume();
  }

  hold(): void {
    this.client.pause();
    this.upstream?.pause();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose(this);
  }
}

/** Copies `from` to `to`, each chunk `delay()` ms late and never out of order. */
function pump(from: Socket, to: Socket, delay: () => number, dropping = () => false): void {
  let due = 0;
  const later = (work: () => void) => {
    due = Math.max(due, Date.now() + delay());
    const wait = due - Date.now();
    if (wait <= 0) work();
    else setTimeout(work, wait);
  };
  from.on("data", (chunk: Buffer) => later(() => to.destroyed || dropping() || to.write(chunk)));
  from.on("end", () => later(() => to.end()));
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let delayMs = 0;
  let pendingCut: { pattern: RegExp; afterMs: number; done: () => void } | undefined;
  const inspect = (link: Link, chunk: Buffer) => {
    if (!pendingCut?.pattern.test(chunk.toString("latin1"))) return;
    const { afterMs, done } = pendingCut;
    pendingCut = undefined;
    link.holdingAnswers = true;
    setTimeout(() => {
      link.destroy();
      done();
    }, afterMs);
  };
  const server = createServer((client) => {
    if (proxy.mode === "refuse") {
      client.on("error", ignore);
      client.resetAndDestroy();
      return;
    }
    const link = new Link(
      client,
      target,
      () => delayMs,
      (closed) => links.delete(closed),
      inspect,
    );
    links.add(link);
    if (proxy.mode === "forward") link.flow();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");

  const proxy: TcpProxy = {
    port: (server.address() as { port: number }).port,
    mode: "forward",
    setMode(mode) {
      proxy.mode = mode;
      for (const link of links) {
        if (mode === "blackhole") link.hold();
        else link.flow();
      }
    },
    cut() {
      for (const link of [...links]) link.destroy();
    },
    latency(ms) {
      delayMs = ms;
    },
    cutAfterClientSends(pattern, afterMs = 100) {
      return new Promise((done) => {
        pendingCut = { pattern, afterMs, done };
      });
    },
    async close() {
      proxy.cut();
      const closed = once(server, "close");
      server.close();
      await closed;
    },
  };
  return proxy;
}
