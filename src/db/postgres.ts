import { setTimeout as sleep } from "node:timers/promises";
import { type CompiledQuery, PostgresDialect, type QueryResult } from "kysely";
import type pgTypes from "pg";
import { CircuitBreaker } from "./breaker.js";
import { postgresSignals } from "./changes/signals.js";
import {
  isConnectFailure,
  isConnectionBroken,
  isCutWhileConnecting,
  isUnanswered,
  outcomeUnknown,
  translate,
} from "./errors.js";
import type { EngineConnection, Executor } from "./executor.js";
import type { StoreLog } from "./log.js";
import { pg } from "./pg.js";
import { ownSchemaIntrospection } from "./postgres-introspector.js";

/** A client-side deadline a little past the server's own, for a server that stops answering at all. */
const QUERY_DEADLINE_MARGIN_MS = 1000;
/** How long closing waits for connections to say goodbye to a server that may not answer. */
const CLOSE_TIMEOUT_MS = 2000;
const MAX_NAMED_STATEMENTS = 200;

export interface PostgresOptions {
  url: string;
  /** Already checked to be a plain identifier (see config.ts). */
  schema?: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  poolSize: number;
  log: StoreLog;
}

/**
 * A pool in which nothing waits forever: connecting (and waiting for a free connection) has a
 * deadline, the server cancels a statement or a lock wait that runs too long, and the client gives
 * up on a server that does not answer at all and throws that connection away. Once a connection
 * cannot be made, or a statement gets no answer, nothing more waits for that server: a circuit
 * breaker fails every request at once until a probe finds the server answering again.
 */
export function openPostgres(options: PostgresOptions): EngineConnection {
  const pool = new (pg().Pool)({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    lock_timeout: options.lockTimeoutMs,
    idle_in_transaction_session_timeout: options.statementTimeoutMs * 2,
    keepAlive: true,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  pool.on("error", (error) => options.log.warn({ err: error }, "an idle database connection failed"));
  const queryTimeout = options.statementTimeoutMs + QUERY_DEADLINE_MARGIN_MS;
  const statementNames = new StatementNames(MAX_NAMED_STATEMENTS);

  const breaker = new CircuitBreaker({ probe: (signal) => probe(options, signal), log: options.log });

  /** A pooled connection, unless the server is known to be unreachable; a failure to connect shows it is. */
  async function checkOut(): Promise<pgTypes.PoolClient> {
    breaker.check();
    try {
      return await pool.connect();
    } catch (error) {
      if (isConnectFailure(error) && !isCutWhileConnecting(error)) breaker.trip(error);
      throw error;
    }
  }

  let acquired = 0;
  let waitSeconds = 0;
  async function connect(): Promise<pgTypes.PoolClient> {
    const started = performance.now();
    try {
      const client = await checkOut();
      acquired++;
      return client;
    } catch (error) {
      throw translate(error);
    } finally {
      waitSeconds += (performance.now() - started) / 1000;
    }
  }

  function executorOn(client: pgTypes.PoolClient, broken: (error: unknown) => void): Executor {
    const executeQuery = async <R>({ sql, parameters, query }: CompiledQuery<R>): Promise<QueryResult<R>> => {
      try {
        // pg reads query_timeout from the query config too; its types only know the client option.
        const config = {
          // Transaction control and other bare text (no query tree) gain nothing from a name.
          name: query === undefined ? undefined : statementNames.nameOf(sql),
          text: sql,
          values: parameters as unknown[],
          query_timeout: queryTimeout,
        } as pgTypes.QueryConfig;
        const result = await client.query(config);
        return toQueryResult<R>(result);
      } catch (error) {
        if (isUnanswered(error)) breaker.trip(error);
        broken(error);
        throw translate(error);
      }
    };
    return {
      engine: "postgres",
      executeQuery,
      executeQueryFirst: async (query) => (await executeQuery(query)).rows[0],
    };
  }

  /** Borrows a connection for `work`; a connection that failed is closed instead of going back. */
  async function withClient<T>(work: (executor: Executor, broken: () => boolean) => Promise<T>): Promise<T> {
    const client = await connect();
    let failure: Error | undefined;
    // Between two statements a borrowed connection can still fail; the pool only listens to idle ones.
    const lost = (error: Error) => {
      failure ??= error;
    };
    client.on("error", lost);
    const executor = executorOn(client, (error) => {
      if (isConnectionBroken(error)) failure = error instanceof Error ? error : new Error(String(error));
    });
    try {
      return await work(executor, () => failure !== undefined);
    } finally {
      client.off("error", lost);
      client.release(failure);
    }
  }

  // A change outside a transaction commits as it runs: losing the connection meanwhile leaves it unknown.
  const run = <R>(query: CompiledQuery<R>) =>
    withClient(async (executor) => {
      try {
        return await executor.executeQuery(query);
      } catch (error) {
        throw isChange(query) ? outcomeUnknown(error) : error;
      }
    });

  return {
    engine: "postgres",
    executeQuery: run,
    executeQueryFirst: async (query) => (await run(query)).rows[0],
    transaction: (work) =>
      withClient(async (executor, broken) => {
        await executor.executeQuery(raw("begin"));
        try {
          const result = await work(executor);
          await executor.executeQuery(raw("commit")).catch((error: unknown) => {
            throw outcomeUnknown(error);
          });
          return result;
        } catch (error) {
          // A lost connection has rolled back by itself on the server.
          if (!broken()) await executor.executeQuery(raw("rollback")).catch(() => {});
          throw error;
        }
      }),
    // Kysely (migrations, the CLI, snapshots) checks out through the breaker too.
    dialect: ownSchemaIntrospection(new PostgresDialect({ pool: { connect: checkOut, end: () => pool.end() } })),
    changeSignals: postgresSignals({
      url: options.url,
      ...(options.schema ? { schema: options.schema } : {}),
      connectTimeoutMs: options.connectTimeoutMs,
      notify: (channel) => run({ sql: "select pg_notify($1, '')", parameters: [channel] } as unknown as CompiledQuery),
      log: options.log,
    }),
    ping: async () => {
      await run(raw("select 1"));
    },
    connections: () => ({
      open: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      acquired,
      waitSeconds,
    }),
    close: async () => {
      await breaker.stop();
      // Unreferenced: when the pool ends first, the timer must not keep a finished command alive.
      await Promise.race([pool.end(), sleep(CLOSE_TIMEOUT_MS, undefined, { ref: false })]);
    },
  };
}

/**
 * One connection of its own, outside the pool (whose connections may all be stuck on the silent
 * server): connect and `select 1`, each within the connect timeout.
 */
async function probe(options: PostgresOptions, signal: AbortSignal): Promise<void> {
  const client = new (pg().Client)({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
  client.on("error", () => {});
  const abandon = () => void client.end().catch(() => {});
  signal.addEventListener("abort", abandon, { once: true });
  try {
    await client.connect();
    await client.query({ text: "select 1", query_timeout: options.connectTimeoutMs } as pgTypes.QueryConfig);
  } finally {
    signal.removeEventListener("abort", abandon);
    await Promise.race([client.end().catch(() => {}), sleep(CLOSE_TIMEOUT_MS, undefined, { ref: false })]);
  }
}

/**
 * Named statements are parsed once per connection, and after a few runs the server plans them once
 * too; for the service's small queries that is most of the server's work. The repositories' SQL is
 * a fixed set, so a name per distinct text stays few; past the limit a text runs unnamed, so that
 * ad hoc SQL cannot grow every connection's statement cache without end.
 */
export class StatementNames {
  readonly #names = new Map<string, string>();
  constructor(readonly limit: number) {}

  nameOf(sql: string): string | undefined {
    let name = this.#names.get(sql);
    if (name === undefined && this.#names.size < this.limit) {
      name = `people_notes_${this.#names.size + 1}`;
      this.#names.set(sql, name);
    }
    return name;
  }
}

const CHANGE_NODES = new Set(["InsertQueryNode", "UpdateQueryNode", "DeleteQueryNode", "MergeQueryNode"]);

function isChange({ query, sql }: CompiledQuery): boolean {
  return CHANGE_NODES.has(query?.kind) || /^\s*(insert|update|delete|merge)\b/i.test(sql);
}

const raw = (sql: string) => ({ sql, parameters: [] }) as unknown as CompiledQuery<never>;

function toQueryResult<R>(result: pgTypes.QueryResult): QueryResult<R> {
  const changes = ["INSERT", "UPDATE", "DELETE", "MERGE"].includes(result.command);
  return {
    rows: (result.rows ?? []) as R[],
    numAffectedRows: changes && result.rowCount !== null ? BigInt(result.rowCount) : undefined,
  };
}
