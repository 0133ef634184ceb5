import {
  type Compilable,
  type CompiledQuery,
  type Dialect,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import type { ChangeSignals } from "./changes/signals.js";
import type { Database, Engine } from "./schema.js";

/**
 * Runs compiled queries: the store itself (each statement commits on its own) or one transaction.
 * Repositories take one per call, so the caller decides what runs together.
 */
export interface Executor {
  readonly engine: Engine;
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
  /** Only the first row, where the engine can stop reading there. */
  executeQueryFirst<R>(query: CompiledQuery<R>): Promise<R | undefined>;
}

/** An executor that can also run several statements as one atomic unit. */
export interface UnitOfWork extends Executor {
  /** Runs `work` in one transaction: it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
}

/** What a store's connections are doing right now. */
export interface ConnectionUse {
  /** Connections open. */
  open: number;
  /** Open and not in use. */
  idle: number;
  /** Requests waiting for a connection (or, on SQLite, for their turn on the one connection). */
  waiting: number;
  /** PostgreSQL: connections handed out so far, and the seconds spent waiting for them in all. */
  acquired?: number;
  waitSeconds?: number;
}

/** What each engine's module opens: a unit of work, the dialect Kysely runs on, and its life cycle. */
export interface EngineConnection extends UnitOfWork {
  dialect: Dialect;
  ping(): Promise<void>;
  connections(): ConnectionUse;
  /** How processes on this database tell each other that changes committed. */
  changeSignals: ChangeSignals;
  close(): Promise<void>;
}

/** Kysely instances that only build and compile SQL, one per engine; they never connect. */
const compilers: Record<Engine, Kysely<Database>> = {
  sqlite: new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),
  postgres: new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
};

/** Stands for one argument while the query is built; it ends up among the compiled parameters. */
class Placeholder {
  constructor(readonly argument: number) {}
}

export interface PreparedQuery<Args extends unknown[], Row> {
  run(executor: Executor, ...args: Args): Promise<QueryResult<Row>>;
  /** The first row of the result, or undefined: for lookups of one row. */
  first(executor: Executor, ...args: Args): Promise<Row | undefined>;
}

export type Build<Args extends unknown[], Row> = (db: Kysely<Database>, ...args: Args) => Compilable<Row>;

/**
 * A query shape built and compiled once per engine, the first time it runs there. Kysely otherwise
 * builds and compiles the same SQL on every call, which for the service's small queries takes longer
 * than running them. `build` is called with placeholders for its arguments; each call then only puts
 * its own arguments in their places, so the SQL text never changes and statement caches hit.
 * `build` may also be one function per engine, where the engines need different SQL.
 */
export function prepareQuery<Args extends unknown[], Row>(
  build: Build<Args, Row> | Record<Engine, Build<Args, Row>>,
): PreparedQuery<Args, Row> {
  const compiled = new Map<Engine, { query: CompiledQuery<Row>; sources: number[] }>();
  const compileFor = (engine: Engine) => {
    let entry = compiled.get(engine);
    if (entry === undefined) {
      const shape = typeof build === "function" ? build : build[engine];
      const placeholders = Array.from({ length: shape.length - 1 }, (_, i) => new Placeholder(i));
      const query = shape(compilers[engine], ...(placeholders as unknown as Args)).compile();
      const sources = query.parameters.map((value) => (value instanceof Placeholder ? value.argument : -1));
      entry = { query, sources };
      compiled.set(engine, entry);
    }
    return entry;
  };
  const bind = (engine: Engine, args: Args): CompiledQuery<Row> => {
    const { query, sources } = compileFor(engine);
    return {
      ...query,
      parameters: sources.map((source, i) => (source === -1 ? query.parameters[i] : args[source])),
    };
  };
  return {
    run: (executor, ...args) => executor.executeQuery<Row>(bind(executor.engine, args)),
    first: (executor, ...args) => executor.executeQueryFirst<Row>(bind(executor.engine, args)),
  };
}

/** Affected rows of an INSERT, UPDATE or DELETE, as a number. */
export const affected = (result: QueryResult<unknown>): number => Number(result.numAffectedRows ?? 0);
