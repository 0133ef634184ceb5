/**
 * What moving every described table in bulk needs, for `db copy`, `export` and `import`: reading a
 * table in keyset batches, multi-row inserts, clearing a target, keeping identities ahead of
 * explicit ids, and the checksum and checks that verify a load before it commits. Which tables, and
 * their columns, keys and parents, come from their descriptions (tables.ts).
 */
import { createHash } from "node:crypto";
import { type Compilable, type Kysely, type RawBuilder, sql } from "kysely";
import type { Store } from "../database.js";
import type { Executor } from "../executor.js";
import { migrations } from "../migrations/index.js";
import type { Database, Engine } from "../schema.js";
import {
  type Counts,
  countsOf,
  inWords,
  loose,
  noCounts,
  numbersOf,
  type Row,
  sameCounts,
  type TableDescription,
  TRANSFERRED,
  totalOf,
  transferred,
} from "./tables.js";

export const DEFAULT_BATCH_ROWS = 5_000;
/**
 * Rows per INSERT: at 7 values a person, 28,000 parameters, below SQLite's 32,766 (and PostgreSQL's
 * 65,535). Each such statement takes about 0.2 s on PostgreSQL, with its count triggers, far below
 * the 5 s statement timeout; 1,000 rows a statement made the 1m copy about 10 % slower. A table of
 * more columns takes fewer rows a statement (MAX_PARAMETERS).
 */
export const INSERT_ROWS = 4_000;
const MAX_PARAMETERS = 28_000;
/** Below every id the service can hand out, so the first page starts at the very first row. */
export const BEFORE_FIRST_ID = -Number.MAX_SAFE_INTEGER;

/** How far a bulk phase is: rows done so far out of the rows it will handle. */
export interface BulkProgress<Phase extends string> {
  phase: Phase;
  done: number;
  total: number;
  /** What `done` and `total` count; rows unless said otherwise. */
  unit?: string;
}

/** The databases are not in a state to load from or into; nothing was changed. */
export class RefusedError extends Error {
  override name = "RefusedError";
}

/** What was loaded is not what was meant to be; the transaction was rolled back. */
export class VerificationError extends Error {
  override name = "VerificationError";
}

export type Progress<Phase extends string> = (progress: BulkProgress<Phase>) => void | Promise<void>;

/** What one side holds: row counts and a SHA-256 over every row's fields in id order (see RowDigest). */
export type RowSummary = Counts & { checksum: string };

/** Runs a query built on the right Kysely instance, on a read snapshot or in the target's transaction. */
export type Runner = <Result>(build: (db: Kysely<Database>) => Compilable<Result>) => Promise<Result[]>;

/** A raw statement as a query a Runner takes. */
export const raw =
  <Result>(query: RawBuilder<Result>) =>
  (db: Kysely<Database>): Compilable<Result> => ({ compile: () => query.compile(db) });

/** Kysely only compiles here; the statements run on the unit of work's executor. */
export const onExecutor =
  (executor: Executor, compiler: Kysely<Database>): Runner =>
  async (build) =>
    (await executor.executeQuery(build(compiler).compile())).rows;

/**
 * Reading from an older schema would miss columns; a source is never changed, so it is not migrated
 * here. The applied migrations are read from Kysely's table in the store's own schema: Kysely's
 * migrator would first list the tables of every schema on the server, which fails when another
 * schema is being dropped meanwhile.
 */
export async function requireLatestSchema(store: Store, what: string): Promise<void> {
  await requireSchema(store);
  const applied = new Set(await appliedMigrations(store));
  const pending = Object.keys(migrations(store.engine)).filter((name) => !applied.has(name));
  if (applied.size === 0) {
    throw new RefusedError(`${what} has no people-notes tables`);
  }
  if (pending.length > 0) {
    throw new RefusedError(`${what} is not at the latest schema (missing ${pending.join(", ")}); migrate it first`);
  }
}

async function appliedMigrations(store: Store): Promise<string[]> {
  const exists =
    store.engine === "postgres"
      ? sql<{ found: string | null }>`select to_regclass('kysely_migration')::text as found`
      : sql<{
          found: string | null;
        }>`select name as found from sqlite_master where type = 'table' and name = 'kysely_migration'`;
  const { rows } = await exists.execute(store.db);
  if (!rows[0]?.found) return [];
  const names = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
  return names.rows.map((row) => row.name);
}

/** A PostgreSQL URL's `?schema=` must name a schema that exists; nothing else would say so clearly. */
export async function requireSchema(store: Store): Promise<void> {
  if (store.engine !== "postgres") return;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
  if (!rows[0]?.schema) throw new RefusedError("the PostgreSQL schema named in the URL does not exist");
}

/** The rows of every transferred table as the database keeps count of them. */
export const keptCounts = (ex: Executor): Promise<Counts> => countsOf((table) => table.count(ex));

/** Rows can exist without being counted only if the counts went wrong; a refusal must not rely on them. */
export async function hasRows(run: Runner): Promise<boolean> {
  for (const table of TRANSFERRED) {
    const found = await run((db) => loose(db).selectFrom(table.name).select(table.key).limit(1));
    if (found.length > 0) return true;
  }
  return false;
}

/** Where a page starts: after this key (its id, and its second column when the key has two). */
export type Cursor = readonly [number, number];
/** Before every row of any table. */
export const FIRST: Cursor = [BEFORE_FIRST_ID, BEFORE_FIRST_ID];

/** A row's place in its table's key order. */
export const cursorOf = (table: TableDescription, row: Row): Cursor => [
  Number(row[table.key]),
  table.keyThen === undefined ? 0 : Number(row[table.keyThen]),
];

/**
 * A page of the table's rows (`columns` of them, every column by default; the key's among them)
 * after `after`, in key order: by id, or by id and then the key's second column.
 */
export const page =
  (table: TableDescription, after: Cursor, limit: number, columns: readonly string[] = table.columns) =>
  (db: Kysely<Database>) => {
    const [id, next] = after;
    const then = table.keyThen;
    const query = loose(db).selectFrom(table.name).select(columns);
    if (then === undefined) return query.where(table.key, ">", id).orderBy(table.key).limit(limit);
    return query
      .where((eb) => eb.or([eb(table.key, ">", id), eb.and([eb(table.key, "=", id), eb(then, ">", next)])]))
      .orderBy(table.key)
      .orderBy(then)
      .limit(limit);
  };

/** Pages through rows in key order; each page starts after the last row of the one before. */
export async function* keyset<Item, After = number>(
  fetch: (after: After) => Promise<Item[]>,
  idOf: (row: Item) => After,
  limit: number,
  first: After = BEFORE_FIRST_ID as After,
): AsyncGenerator<Item[]> {
  let after = first;
  for (;;) {
    const rows = await fetch(after);
    if (rows.length > 0) yield rows;
    const last = rows.at(-1);
    if (last === undefined || rows.length < limit) return;
    after = idOf(last);
  }
}

/** Every row of the table, in key order, a batch at a time. */
export const rowsOf = (run: Runner, table: TableDescription, limit: number, columns?: readonly string[]) =>
  keyset<Row, Cursor>(
    (after) => run(page(table, after, limit, columns)),
    (row) => cursorOf(table, row),
    limit,
    FIRST,
  );

/**
 * The checksum: SHA-256 over one line per row, table by table in the order of their descriptions
 * and each by id, each line the JSON array of the table's name and the row's fields in column order
 * (or what the description compares). Ids, versions and counts as numbers, timestamps as the ISO
 * strings both engines hand out, text as it is stored.
 */
export class RowDigest {
  readonly #hash = createHash("sha256");
  readonly #rows = new Map<string, number>();

  add(table: TableDescription, rows: Row[]): void {
    for (const row of rows) {
      const fields = table.compared ? table.compared(row) : table.columns.map((column) => row[column]);
      this.#hash.update(`${JSON.stringify([table.name, ...fields.map(canonical)])}\n`);
    }
    this.#rows.set(table.name, this.rows(table) + rows.length);
  }

  /** The rows of that table added so far. */
  rows(table: TableDescription): number {
    return this.#rows.get(table.name) ?? 0;
  }

  counts(): Counts {
    const counts = noCounts();
    for (const table of TRANSFERRED) counts[table.plural] = this.rows(table);
    return counts;
  }

  /** Every row added so far, of every table. */
  get total(): number {
    let total = 0;
    for (const rows of this.#rows.values()) total += rows;
    return total;
  }

  summary(): RowSummary {
    return { ...this.counts(), checksum: this.#hash.digest("hex") };
  }
}

/** A driver may hand a big integer out as a string or a bigint; the checksum sees the number. */
const canonical = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value);

/** Rows per INSERT of this table: INSERT_ROWS, or fewer where its columns would pass MAX_PARAMETERS. */
export const insertRows = (table: TableDescription): number =>
  Math.min(INSERT_ROWS, Math.floor(MAX_PARAMETERS / (table.columns.length + (table.writtenWith?.columns.length ?? 0))));

/** Inserts the rows, with the columns the service derives on every write, in statements of insertRows(table) rows. */
export async function insertAll(write: Runner, table: TableDescription, rows: Row[]): Promise<void> {
  const size = insertRows(table);
  const derived = table.writtenWith;
  for (let start = 0; start < rows.length; start += size) {
    const slice = rows.slice(start, start + size);
    const chunk = derived ? slice.map((row) => ({ ...row, ...derived.derive(row) })) : slice;
    await write((db) => loose(db).insertInto(table.name).values(chunk));
  }
}

/**
 * Deletes the target's rows, children before their parents (the descriptions' order reversed), a
 * batch of ids at a time (of a two-column key, every row of the batch's first to last id), so each statement stays small and the delete triggers keep the counts.
 * Notes go before people: deleting a person would otherwise cascade to all their notes in one
 * statement.
 */
export async function clear(
  write: Runner,
  held: Counts,
  batchRows: number,
  progress: Progress<"clearing">,
): Promise<void> {
  const total = totalOf(held);
  let done = 0;
  for (const table of [...(TRANSFERRED as readonly TableDescription[])].reverse()) {
    const key = table.keyThen === undefined ? [table.key] : [table.key, table.keyThen];
    for await (const rows of keyset(
      (after) => write(page(table, after, batchRows, key)),
      (row) => cursorOf(table, row),
      batchRows,
      FIRST,
    )) {
      const first = rows[0]?.[table.key] ?? 0;
      const last = rows.at(-1)?.[table.key] ?? 0;
      await write((db) => loose(db).deleteFrom(table.name).where(table.key, ">=", first).where(table.key, "<=", last));
      done += rows.length;
      await progress({ phase: "clearing", done, total });
    }
  }
}

/**
 * The highest id of each table held inside the rows of tables that keep other tables' rows (the
 * trash), read a batch at a time.
 */
async function idsWithin(
  write: Runner,
  tables: readonly TableDescription[],
  batchRows: number,
): Promise<Map<string, number>> {
  const highest = new Map<string, number>();
  for (const table of tables) {
    const within = table.idsWithin;
    if (!within) continue;
    for await (const rows of rowsOf(write, table, batchRows)) {
      for (const row of rows) {
        for (const [name, ids] of Object.entries(within(row))) {
          for (const id of ids ?? []) if (id > (highest.get(name) ?? 0)) highest.set(name, id);
        }
      }
    }
  }
  return highest;
}

/**
 * The next generated id must come after every copied one, and after every id the copied trash
 * keeps for a restore. The count triggers already move PostgreSQL's identity sequences past
 * explicit people and note ids, and AUTOINCREMENT does it on SQLite; this checks that it happened
 * and sets the sequence itself when it did not (always, for ids only the trash holds).
 */
export async function keepIdentitiesAhead(
  write: Runner,
  engine: Engine,
  tables: readonly TableDescription[] = TRANSFERRED,
  batchRows = DEFAULT_BATCH_ROWS,
): Promise<void> {
  const held = await idsWithin(write, tables, batchRows);
  for (const { name: table, key: column, generatedKey } of tables) {
    if (generatedKey === false) continue;
    const [row] = await write((db) =>
      loose(db)
        .selectFrom(table)
        .select((eb) => eb.fn.max(column).as("top")),
    );
    const live = row?.top === null || row?.top === undefined ? undefined : Number(row.top);
    const inside = held.get(table);
    const top = live === undefined ? inside : inside === undefined ? live : Math.max(live, inside);
    if (top === undefined) continue;
    if (engine === "postgres") {
      const [found] = await write(
        raw(sql<{ sequence: string }>`select pg_get_serial_sequence(${table}, ${column}) as sequence`),
      );
      if (!found?.sequence) throw new VerificationError(`no identity sequence for ${table}.${column}`);
      const sequence = found.sequence;
      const [state] = await write(
        raw(sql<{ last: number | null }>`select pg_sequence_last_value(${sequence}::regclass) as last`),
      );
      if (state?.last === null || state?.last === undefined || Number(state.last) < top) {
        await write(raw(sql`select setval(${sequence}::regclass, ${top})`));
      }
    } else {
      const [state] = await write(raw(sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`));
      if (state === undefined) {
        await write(raw(sql`insert into sqlite_sequence (name, seq) values (${table}, ${top})`));
      } else if (Number(state.seq) < top) {
        await write(raw(sql`update sqlite_sequence set seq = ${top} where name = ${table}`));
      }
    }
  }
}

/**
 * Inside the target's transaction, before it commits: the rows read back must give the expected
 * counts and checksum (when there are any: a merge has none), the kept table counts must match the
 * rows, and so must every parent's kept count of children. Returns what was found and every
 * problem; the caller throws, and the transaction rolls back.
 */
export async function verifyLoad(
  tx: Executor,
  write: Runner,
  expected: RowSummary | undefined,
  batchRows: number,
  progress: Progress<"verifying">,
  source = "the source",
): Promise<{ found: RowSummary; problems: string[] }> {
  // Read before the rows, in the same transaction: nothing writes in between.
  const kept = await keptCounts(tx);
  const total = totalOf(expected ?? kept);
  const digest = new RowDigest();
  for (const table of TRANSFERRED) {
    for await (const rows of rowsOf(write, table, batchRows)) {
      digest.add(table, rows);
      await progress({ phase: "verifying", done: digest.total, total: Math.max(total, digest.total) });
    }
  }
  const found = digest.summary();
  const problems: string[] = [];
  if (expected && !sameCounts(found, expected)) {
    problems.push(`${source} has ${inWords(expected)}, the target ${numbersOf(found)}`);
  } else if (expected && found.checksum !== expected.checksum) {
    problems.push(
      `checksums differ: ${source.replace(/^the /, "")} sha256 ${expected.checksum}, target sha256 ${found.checksum}`,
    );
  }
  if (!sameCounts(kept, found)) {
    problems.push(`the target's kept counts say ${inWords(kept)}, its rows are ${numbersOf(found)}`);
  }
  problems.push(...(await childCountProblems(write, found, batchRows)));
  return { found, problems };
}

/** Every parent's kept count of each kind of its children against the children, a batch of parents at a time. */
export async function childCountProblems(write: Runner, found: Counts, batchRows: number): Promise<string[]> {
  const problems: string[] = [];
  for (const child of TRANSFERRED as readonly TableDescription[]) {
    const link = child.parent;
    const parent = link && transferred(link.table);
    if (!link?.countedIn || !parent) continue;
    const { column, countedIn } = link;
    let wrong = 0;
    const someWrong: number[] = [];
    for await (const rows of keyset(
      (after) =>
        write(
          raw(
            sql<{
              id: number;
              children: number | string;
              counted: number | string | null;
            }>`select p.${sql.ref(parent.key)} as id,
              (select count(*) from ${sql.table(child.name)} c where c.${sql.ref(column)} = p.${sql.ref(parent.key)}) as children,
              (select sum(k.value) from ${sql.table(countedIn)} k where k.${sql.ref(column)} = p.${sql.ref(parent.key)}) as counted
              from ${sql.table(parent.name)} p where p.${sql.ref(parent.key)} > ${after}
              order by p.${sql.ref(parent.key)} limit ${batchRows}`,
          ),
        ),
      (row) => Number(row.id),
      batchRows,
    )) {
      for (const row of rows) {
        if (Number(row.children ?? 0) === Number(row.counted ?? 0)) continue;
        wrong += 1;
        if (someWrong.length < 5) someWrong.push(Number(row.id));
      }
    }
    const [all] = await write(
      raw(sql<{ total: number | string | null }>`select sum(value) as total from ${sql.table(countedIn)}`),
    );
    if (wrong > 0) {
      problems.push(
        `${wrong} ${parent.plural}'s kept ${child.name} counts are wrong (${parent.name} ids ${someWrong.join(", ")}${wrong > 5 ? ", …" : ""})`,
      );
    }
    const sum = Number(all?.total ?? 0);
    const rows = found[child.plural as keyof Counts];
    if (sum !== rows) {
      problems.push(`the kept ${child.name} counts of all ${parent.plural} add up to ${sum}, not ${rows}`);
    }
  }
  return problems;
}
