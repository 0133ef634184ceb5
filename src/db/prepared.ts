import type { Compilable, CompiledQuery, QueryResult } from "kysely";

/** Stands for one argument while the query is built; it ends up among the compiled parameters. */
class Placeholder {
  constructor(readonly argument: number) {}
}

/** What running a compiled query needs: any Kysely instance (or transaction) has it. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
  /** Only the first row, where the engine can stop reading there. */
  executeQueryFirst?<R>(query: CompiledQuery<R>): Promise<R | undefined>;
}

export interface PreparedQuery<Args extends unknown[], Row> {
  (...args: Args): Promise<QueryResult<Row>>;
  /** The first row of the result, or undefined: for lookups of one row. */
  first(...args: Args): Promise<Row | undefined>;
}

/**
 * A query shape built and compiled once. Kysely otherwise builds and compiles the same SQL on
 * every call, which for the service's small queries takes longer than running them. `build` is
 * called once with placeholders for its arguments; each call then only puts its own arguments in
 * their places. Works on both engines: only the parameter values change, never the SQL.
 */
export function prepareQuery<Args extends unknown[], Row>(
  db: QueryRunner,
  build: (...args: Args) => Compilable<Row>,
): PreparedQuery<Args, Row> {
  const placeholders = Array.from({ length: build.length }, (_, i) => new Placeholder(i));
  const compiled = build(...(placeholders as unknown as Args)).compile();
  const sources = compiled.parameters.map((value) => (value instanceof Placeholder ? value.argument : -1));
  const bind = (args: Args): CompiledQuery<Row> => ({
    ...compiled,
    parameters: sources.map((source, i) => (source === -1 ? compiled.parameters[i] : args[source])),
  });
  const run = (...args: Args) => db.executeQuery<Row>(bind(args));
  const first = async (...args: Args): Promise<Row | undefined> => {
    if (db.executeQueryFirst) return db.executeQueryFirst<Row>(bind(args));
    return (await db.executeQuery<Row>(bind(args))).rows[0];
  };
  return Object.assign(run, { first });
}
