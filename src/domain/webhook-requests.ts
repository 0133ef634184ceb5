import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";

/**
 * Addresses a webhook is never sent to unless private ones are allowed (OWASP's SSRF prevention):
 * loopback, the private ranges, link-local (the cloud metadata address 169.254.169.254 among
 * them), shared and reserved space, multicast, and the documentation ranges.
 */
const REFUSED_V4: [string, number, string][] = [
  ["0.0.0.0", 8, "this network"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"],
  ["192.0.2.0", 24, "documentation"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

const v4Number = (address: string): number => address.split(".").reduce((value, part) => value * 256 + Number(part), 0);

function refusedV4(address: string): string | undefined {
  const value = v4Number(address);
  for (const [base, bits, why] of REFUSED_V4) {
    const size = 2 ** (32 - bits);
    const start = v4Number(base);
    if (value >= start && value < start + size) return why;
  }
  return undefined;
}

/** The 8 groups of an IPv6 address as numbers (an embedded IPv4 tail included). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4) {
    const n = v4Number(v4);
    text = `${text.slice(0, -v4.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16));
}

function refusedV6(address: string): string | undefined {
  const g = v6Groups(address);
  const [a = 0, b = 0] = g;
  const embeddedV4 = (hi: number, lo: number) => `${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`;
  if (g.slice(0, 7).every((x) => x === 0)) return g[7] === 1 ? "loopback" : "unspecified";
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): the IPv4 address decides.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return refusedV4(embeddedV4(g[6] ?? 0, g[7] ?? 0));
  if (a === 0x64 && b === 0xff9b) return refusedV4(embeddedV4(g[6] ?? 0, g[7] ?? 0));
  // 6to4 (2002:a.b.c.d::/48): likewise.
  if (a === 0x2002) return refusedV4(embeddedV4(b, g[2] ?? 0));
  if ((a & 0xfe00) === 0xfc00) return "private (unique local)";
  if ((a & 0xffc0) === 0xfe80) return "link-local";
  if ((a & 0xff00) === 0xff00) return "multicast";
  if (a === 0x2001 && b === 0x0db8) return "documentation";
  return undefined;
}

/** Why an IP address is refused as a webhook's destination, or undefined when it is not. */
export function refusedAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return refusedV4(address);
  if (family === 6) return refusedV6(address);
  return "not an IP address";
}

export class RefusedAddressError extends Error {
  override name = "RefusedAddressError";
  readonly code = "EREFUSEDADDRESS";
}

const refusal = (host: string, address: string, why: string) =>
  new RefusedAddressError(
    `${host === address ? address : `${host} resolves to ${address}`}, a ${why} address: refused (WEBHOOK_ALLOW_PRIVATE=true allows it)`,
  );

/** A URL's host as an address or a name, without IPv6's brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1");

/**
 * Resolves the host, and refuses it when any of its addresses is refused; the connection is then
 * made to an address that was checked, so a name that resolves differently a moment later
 * (DNS rebinding) changes nothing.
 */
export function checkedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      if (!allowPrivate) {
        for (const { address } of addresses) {
          const why = refusedAddress(address);
          if (why) return callback(refusal(hostname, address, why), "", 4);
        }
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
      return callback(null, first.address, first.family);
    });
  };
}

/** Resolves a URL's host once and says why it is refused, if it is; a name that does not resolve is not refused. */
export async function refusedDestination(url: URL, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const host = hostOf(url);
  if (isIP(host)) {
    const why = refusedAddress(host);
    return why ? refusal(host, host, why).message : undefined;
  }
  const lookup = checkedLookup(false);
  return new Promise((resolve) => {
    lookup(host, { all: true }, (error) => {
      resolve(error instanceof RefusedAddressError ? error.message : undefined);
    });
  });
}

export interface PostRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  allowPrivate: boolean;
  /** From the start until the connection is made. */
  connectTimeoutMs: number;
  /** From the start until the response has been read (as far as it is read). */
  timeoutMs: number;
  /** How much of the response body is read before the connection is closed. */
  maxResponseBytes: number;
  signal?: AbortSignal;
}

export interface PostResult {
  /** The status code, when the receiver answered. */
  status?: number;
  error?: string;
  durationMs: number;
}

/**
 * POSTs once: no redirects followed, no connection kept, the host checked after resolution (and
 * the address connected to checked again), a connect and a total deadline, and at most
 * `maxResponseBytes` of the answer read. Never throws.
 */
export function post(request: PostRequest): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let outgoing: ReturnType<typeof httpRequest> | undefined;
    const fail = (message: string) => {
      finish({ error: message });
      outgoing?.destroy();
    };
    const onAbort = () => fail("stopped: the process is shutting down");
    const finish = (result: Omit<PostResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      resolve({ ...result, durationMs: elapsed() });
    };
    const { url } = request;
    const host = hostOf(url);
    if (!request.allowPrivate && isIP(host)) {
      const why = refusedAddress(host);
      if (why) return finish({ error: refusal(host, host, why).message });
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    outgoing = send({
      method: "POST",
      protocol: url.protocol,
      hostname: host,
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: {
        ...request.headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(request.body)),
        "user-agent": "people-notes-webhooks/1",
        connection: "close",
      },
      agent: false,
      lookup: checkedLookup(request.allowPrivate),
    });
    // Listened for before anything can destroy the request: an error event with no listener would
    // end the process.
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      fail(error instanceof RefusedAddressError ? error.message : describe(error));
    });
    request.signal?.addEventListener("abort", onAbort, { once: true });
    if (request.signal?.aborted) return onAbort();
    timers.push(
      setTimeout(() => fail(`no connection within ${request.connectTimeoutMs} ms`), request.connectTimeoutMs),
    );
    timers.push(setTimeout(() => fail(`no complete answer within ${request.timeoutMs} ms`), request.timeoutMs));
    outgoing.on("socket", (socket) => {
      socket.once("connect", () => {
        const connectTimer = timers.shift();
        clearTimeout(connectTimer);
        // What was connected to is checked too, whatever resolved it.
        const remote = socket.remoteAddress ?? "";
        const why = request.allowPrivate ? undefined : refusedAddress(remote);
        if (why) fail(refusal(host, remote, why).message);
      });
    });
    outgoing.on("response", (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      let read = 0;
      const done = () => {
        finish(
          status >= 300 && status < 400
            ? { status, error: `answered ${status} (a redirect, not followed)` }
            : status >= 200 && status < 300
              ? { status }
              : { status, error: `answered ${status}` },
        );
        response.destroy();
        outgoing?.destroy();
      };
      response.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read >= request.maxResponseBytes) done();
      });
      response.on("end", done);
      response.on("error", () => done());
    });
    outgoing.end(request.body);
  });
}

function describe(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case "ENOTFOUND":
      return "the host name does not resolve";
    case "EAI_AGAIN":
      return "the host name could not be resolved now";
    default:
      return error.code ? `${error.code}: ${error.message}` : error.message;
  }
}
