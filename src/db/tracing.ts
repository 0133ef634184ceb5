import {
  type Context,
  context,
  createContextKey,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { CompiledQuery } from "kysely";
import type { EngineConnection, Executor } from "./executor.js";

/**
 * The stable names of OpenTelemetry's database semantic conventions, spelled here: the data layer is
 * loaded by every command, and @opentelemetry/semantic-conventions only when tracing is on.
 */
const ATTR_DB_SYSTEM_NAME = "db.system.name";
const ATTR_DB_OPERATION_NAME = "db.operation.name";
const ATTR_DB_COLLECTION_NAME = "db.collection.name";
const ATTR_DB_QUERY_TEXT = "db.query.text";
const ATTR_ERROR_TYPE = "error.type";

/**
 * Where the time a piece of work spent waiting for the database adds up (the caller puts one in the
 * context): the time during which at least one of its statements or transactions was running, so
 * that statements running side by side count once.
 */
export class QueryTime {
  #ms = 0;
  #running = 0;
  #since = 0;

  get ms(): number {
    return this.#running > 0 ? this.#ms + (performance.now() - this.#since) : this.#ms;
  }

  started(): void {
    if (this.#running++ === 0) this.#since = performance.now();
  }

  ended(): void {
    if (--this.#running === 0) this.#ms += performance.now() - this.#since;
  }
}

/** The context entry that holds the QueryTime of the work running now, when someone counts it. */
export const QUERY_TIME = createContextKey("people-notes database time");

/** The table a statement names first, for the span's name; Kysely quotes every identifier. */
const TABLE = /(?:\binto|^\s*update|\bfrom)\s+"(\w+)"/i;

interface Statement {
  operation: string;
  table: string | undefined;
}

/** The repositories' SQL is a fixed set of texts: each is read once (ad hoc SQL past the limit is read each time). */
const described = new Map<string, Statement>();
const DESCRIBED_LIMIT = 500;

function describe(sql: string): Statement {
  let statement = described.get(sql);
  if (statement === undefined) {
    statement = { operation: (/^\s*(\w+)/.exec(sql)?.[1] ?? "query").toUpperCase(), table: TABLE.exec(sql)?.[1] };
    if (described.size < DESCRIBED_LIMIT) described.set(sql, statement);
  }
  return statement;
}

/**
 * The connection with a span for each statement and each transaction, children of the span that
 * is current when the repository calls it (the request's handler). Only the statement's text goes
 * into a span, with its placeholders: values are always bound parameters, so no user data is in
 * it, and an error is named by its type, never its message (PostgreSQL's quotes the row).
 * Work with no current span (count folding, feed polling, pruning) makes none, so it never
 * starts traces of its own. The time spent is added to the context's QueryTime, where there is one.
 */
export function traceQueries(connection: EngineConnection, tracer: Tracer): EngineConnection {
  const system = connection.engine === "postgres" ? "postgresql" : "sqlite";

  function inSpan<T>(query: CompiledQuery, counted: boolean, run: () => Promise<T>): Promise<T> {
    const active = context.active();
    if (trace.getSpan(active) === undefined) return run();
    const { operation, table } = describe(query.sql);
    const span = tracer.startSpan(
      table ? `${operation} ${table}` : operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: system,
          [ATTR_DB_OPERATION_NAME]: operation,
          [ATTR_DB_QUERY_TEXT]: query.sql,
          ...(table ? { [ATTR_DB_COLLECTION_NAME]: table } : {}),
        },
      },
      active,
    );
    return timed(span, counted ? active : undefined, run);
  }

  const executor = (on: Executor, counted: boolean): Executor => ({
    engine: on.engine,
    executeQuery: (query) => inSpan(query, counted, () => on.executeQuery(query)),
    executeQueryFirst: (query) => inSpan(query, counted, () => on.executeQueryFirst(query)),
  });

  return {
    ...connection,
    // Statements of a transaction are counted with the transaction, which includes its waits.
    ...executor(connection, true),
    transaction: (work) => {
      const active = context.active();
      if (trace.getSpan(active) === undefined) return connection.transaction(work);
      const span = tracer.startSpan(
        "transaction",
        { kind: SpanKind.CLIENT, attributes: { [ATTR_DB_SYSTEM_NAME]: system } },
        active,
      );
      const inside = trace.setSpan(active, span);
      return timed(span, active, () =>
        connection.transaction((tx) => context.with(inside, () => work(executor(tx, false)))),
      );
    },
  };
}

async function timed<T>(span: Span, counted: Context | undefined, run: () => Promise<T>): Promise<T> {
  const time = counted?.getValue(QUERY_TIME) as QueryTime | undefined;
  time?.started();
  try {
    return await run();
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : "unknown");
    throw error;
  } finally {
    span.end();
    time?.ended();
  }
}
