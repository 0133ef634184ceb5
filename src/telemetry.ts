import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DiagLogger, Tracer } from "@opentelemetry/api";
import type { Sampler } from "@opentelemetry/sdk-trace-node";
import type { Logger } from "pino";
import { projectRoot } from "./paths.js";

export const TRACES_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const DEFAULT_SERVICE_NAME = "people-notes";
/** How long the drain waits for the last spans to leave; a collector that does not answer is given up on. */
export const TRACES_FLUSH_TIMEOUT_MS = 2000;

/**
 * OpenTelemetry tracing, from the standard OTEL_* variables (read and checked in src/config.ts).
 * Absent, the server makes no spans at all. The exporter itself still reads the variables this
 * does not name (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, certificates), and the span
 * processor OTEL_BSP_*.
 */
export interface TracingSettings {
  /** The full URL spans are posted to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  url: string;
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL; http/protobuf unless said. */
  protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME; unset, service.name from OTEL_RESOURCE_ATTRIBUTES, else people-notes. */
  serviceName?: string;
  /** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG; parentbased_always_on unless said. */
  sampler: TracesSampler;
  samplerRatio: number;
}

export interface Tracing {
  tracer: Tracer;
  /** Sends the spans ended so far now rather than with the next batch. */
  flush(): Promise<void>;
  /** Sends the spans still queued and stops; resolves within `timeoutMs` whatever the collector does. */
  shutdown(timeoutMs?: number): Promise<void>;
}

let started: Tracing | undefined;

/**
 * Registers the SDK for this process (the API's tracer provider, the async context that carries the
 * current span across awaits, and the W3C trace-context and baggage propagators) and returns the
 * tracer the HTTP and data layers make their spans with. Spans leave in batches in the background:
 * a collector that is slow or away never holds up a request, and its failures are logged as warnings.
 */
export async function startTracing(settings: TracingSettings, log: Logger): Promise<Tracing> {
  if (started) return started;
  // Loaded here, not at the top: a server without tracing does not even load the SDK.
  const [
    { context, DiagLogLevel, diag, propagation, trace },
    { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator },
    { OTLPTraceExporter: JsonExporter },
    { OTLPTraceExporter: ProtobufExporter },
    { defaultResource, detectResources, envDetector, resourceFromAttributes },
    sdk,
    { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION },
  ] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  diag.setLogger(diagnostics(log), DiagLogLevel.WARN);
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
        [ATTR_SERVICE_VERSION]: version(),
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(settings.serviceName ? resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }) : null);
  const Exporter = settings.protocol === "http/json" ? JsonExporter : ProtobufExporter;
  const provider = new sdk.NodeTracerProvider({
    resource,
    sampler: sampler(sdk, settings),
    spanProcessors: [new sdk.BatchSpanProcessor(new Exporter({ url: settings.url }))],
  });
  provider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  });
  const tracing: Tracing = {
    tracer: provider.getTracer(DEFAULT_SERVICE_NAME),
    flush: () => provider.forceFlush(),
    async shutdown(timeoutMs = TRACES_FLUSH_TIMEOUT_MS) {
      const finished = provider.shutdown().then(
        () => true,
        (error: unknown) => {
          log.warn({ err: error }, "could not send the last spans");
          return true;
        },
      );
      // Unreferenced: when the flush ends first, the timer must not keep the process alive.
      const inTime = await Promise.race([finished, sleep(timeoutMs, false, { ref: false })]);
      if (!inTime) log.warn({ timeoutMs }, "the trace collector did not take the last spans in time: they are lost");
      trace.disable();
      context.disable();
      propagation.disable();
      started = undefined;
    },
  };
  started = tracing;
  return tracing;
}

type Sdk = typeof import("@opentelemetry/sdk-trace-node");

function sampler(
  { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler }: Sdk,
  { sampler: name, samplerRatio }: TracingSettings,
): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(samplerRatio);
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
  }
}

function version(): string {
  const { version } = JSON.parse(readFileSync(resolve(projectRoot, "package.json"), "utf8")) as { version: string };
  return version;
}

/**
 * The SDK's own complaints (an export that failed, a queue that overflowed) as warnings in the log.
 * It reports a failed export as the error's JSON: the line then says the error's message.
 */
function diagnostics(log: Logger): DiagLogger {
  const warn = (message: string, ...args: unknown[]) => {
    let said = message;
    try {
      const parsed = JSON.parse(message) as { message?: unknown };
      if (typeof parsed.message === "string") said = parsed.message;
    } catch {
      // plain text
    }
    log.warn({ details: args.length > 0 ? args.map(String) : undefined }, `tracing: ${said}`);
  };
  const ignore = () => {};
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}
