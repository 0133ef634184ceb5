import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";

/** One span as OTLP/HTTP JSON sends it, its attributes made a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** W3C tracestate, carried over from the caller. */
  traceState?: string;
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: Record<string, string | number | boolean | undefined>;
  /** service.name of the resource it came with. */
  service: string | undefined;
}

/** OTLP's span kinds. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}

const plain = (value: AnyValue) =>
  value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
const attributesOf = (list: KeyValue[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, plain(value)]));

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Every request it was sent, whatever its path. */
  requests: { path: string; contentType: string | undefined; body: Buffer }[];
  spans(): ReceivedSpan[];
  /** Resolves with the spans once `ready` holds for them; rejects after `timeoutMs` without. */
  waitFor(ready: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * An OTLP/HTTP collector in the test process, on loopback: it takes POST /v1/traces, keeps what it
 * was sent, and reads the spans of JSON exports.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver["requests"] = [];
  const received: ReceivedSpan[] = [];
  const arrivals = new EventEmitter();
  const server: Server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    const contentType = request.headers["content-type"];
    requests.push({ path: request.url ?? "", contentType, body });
    if (request.method !== "POST" || request.url !== "/v1/traces") {
      response.writeHead(404).end();
      return;
    }
    if (contentType?.startsWith("application/json")) {
      const document = JSON.parse(body.toString("utf8")) as {
        resourceSpans?: {
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: { spans?: (Omit<ReceivedSpan, "attributes" | "service"> & { attributes?: KeyValue[] })[] }[];
        }[];
      };
      for (const resourceSpans of document.resourceSpans ?? []) {
        const service = attributesOf(resourceSpans.resource?.attributes)["service.name"];
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            received.push({
              ...span,
              attributes: attributesOf(span.attributes),
              service: typeof service === "string" ? service : undefined,
            });
          }
        }
      }
    }
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
    arrivals.emit("arrived");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () => [...received],
    async waitFor(ready, timeoutMs = 10_000) {
      const signal = AbortSignal.timeout(timeoutMs);
      while (!ready(received)) {
        try {
          await once(arrivals, "arrived", { signal });
        } catch {
          throw new Error(
            `the receiver did not get the spans awaited within ${timeoutMs} ms: ${JSON.stringify(received)}`,
          );
        }
      }
      return [...received];
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
