/**
 * Copies every row of the transferred tables (tables.ts: people, notes, note history and the trash) from one store into
 * another, on either engine, keeping ids, versions and timestamps, and the tables carried only on
 * request (tokens) when asked. All or nothing: the whole copy is one transaction on
 * the target, verified before it commits. The source is read from one snapshot, in keyset batches,
 * so memory stays bounded.
 */
import type { Kysely } from "kysely";
import { migrateToLatest, type Store } from "../database.js";
import { translate } from "../errors.js";
import type { Executor } from "../executor.js";
import { foldNoteCounts } from "../notes-repository.js";
import type { Database } from "../schema.js";
import { countUsableTokens } from "../tokens-repository.js";
import {
  clear,
  DEFAULT_BATCH_ROWS,
  hasRows,
  insertAll,
  keepIdentitiesAhead,
  keptCounts,
  onExecutor,
  type Progress,
  RefusedError,
  RowDigest,
  type RowSummary,
  type Runner,
  requireLatestSchema,
  requireSchema,
  rowsOf,
  VerificationError,
  verifyLoad,
} from "./bulk.js";
import { readSnapshot } from "./snapshot.js";
import {
  type Counts,
  carriedTables,
  inWords,
  loose,
  ON_REQUEST,
  type Plural,
  type TableDescription,
  TRANSFERRED,
  totalOf,
} from "./tables.js";

export { DEFAULT_BATCH_ROWS } from "./bulk.js";

/** Clearing the target, then one phase per transferred table (`people`, `notes`), then verifying. */
export type CopyPhase = "clearing" | Plural | "verifying";

export interface CopyProgress {
  phase: CopyPhase;
  /** Rows done in this phase so far. */
  done: number;
  /** Rows this phase will handle (from the kept counts; verification counts every table's). */
  total: number;
}

export interface CopyOptions {
  /** Delete the target's rows first; without it a non-empty target is refused. */
  replace?: boolean;
  /** Rows read per source query (and per delete with `replace`). */
  batchRows?: number;
  /** Called (and awaited) after every batch. Throwing from it aborts the copy, which then rolls back. */
  onProgress?: (progress: CopyProgress) => void | Promise<void>;
  /**
   * Copy the tokens too (their ids, hashes, kinds, persons, times and revocations), in place of
   * the target's own; a target that has tokens then needs `replace`. Without it tokens stay behind.
   */
  withTokens?: boolean;
  /** False leaves note history and the trash behind (`--no-history`); the target's own are cleared with `replace`. */
  history?: boolean;
}

/** What one side holds: row counts and a SHA-256 over every row's fields in id order (see RowDigest). */
export type CopySummary = RowSummary;

export interface CopyReport {
  source: CopySummary;
  target: CopySummary;
  /** What the target held before, deleted by `replace`. */
  replaced: Counts;
  /** Migrations applied to the target before the copy. */
  migrated: string[];
  tokens: {
    /** Tokens copied (none without `withTokens`). */
    copied: number;
    /** Tokens that could be used now, on the source and, after the copy, on the target. */
    usableOnSource: number;
    usableOnTarget: number;
  };
}

/** The copy cannot start: the databases are not in a state to copy from or into. */
export class CopyRefusedError extends RefusedError {
  override name = "CopyRefusedError";
}

export class TargetNotEmptyError extends CopyRefusedError {
  override name = "TargetNotEmptyError";
  constructor(readonly held: Counts) {
    super(`the target database is not empty: it has ${inWords(held)}`);
  }
}

/** The target did not end up holding what the source holds; the copy was rolled back. */
export class CopyVerificationError extends VerificationError {
  override name = "CopyVerificationError";
}

type CopyProgressCallback = Progress<CopyPhase>;

export async function copyDatabase(source: Store, target: Store, options: CopyOptions = {}): Promise<CopyReport> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError("batchRows must be a whole number ≥ 1");
  const progress = options.onProgress ?? (() => {});
  try {
    await requireLatestSchema(source, "the source database");
    await requireSchema(target);
    const { applied } = await migrateToLatest(target);
    const asked = ON_REQUEST.filter((table) => options[table.carried] === true);
    const now = new Date().toISOString();
    return await target.transaction(async (tx) => {
      const write = onExecutor(tx, target.db);
      const held = await keptCounts(tx);
      const empty = totalOf(held) === 0 && !(await hasRows(write));
      if (!empty && !options.replace) throw new TargetNotEmptyError(held);
      for (const table of asked) {
        const [own] = await write(rowCount(table));
        if (Number(own?.count ?? 0) > 0) {
          if (!options.replace) {
            throw new CopyRefusedError(
              `the target database has ${own?.count} ${table.plural} of its own; pass --replace to replace them with the source's`,
            );
          }
          await write((db) => loose(db).deleteFrom(table.name));
        }
      }
      if (!empty) await clear(write, held, batchRows, progress);
      const { copied, carried, usableOnSource } = await readSnapshot(source, async (snapshot) => {
        const read = onExecutor(snapshot, source.db);
        const copied = await copyRows(snapshot, read, write, batchRows, progress, options.history ?? true);
        const carried = new Map<string, Carried>();
        for (const table of asked) carried.set(table.name, await copyAsked(read, write, table, batchRows));
        return { copied, carried, usableOnSource: await countUsableTokens(snapshot, now) };
      });
      await keepIdentitiesAhead(write, tx.engine, [...TRANSFERRED, ...asked], batchRows);
      // The copied notes leave the target counted in full rather than counted live.
      await foldNoteCounts(tx);
      const { found: verified, problems } = await verifyLoad(tx, write, copied, batchRows, progress);
      for (const table of asked) {
        const sent = carried.get(table.name);
        const found = await digestOf(write, table, batchRows);
        if (sent && (found.count !== sent.count || found.checksum !== sent.checksum)) {
          problems.push(`the source has ${sent.count} ${table.plural}, the target ${found.count} that differ`);
        }
      }
      if (problems.length > 0) {
        throw new CopyVerificationError(`verification failed, nothing was copied: ${problems.join("; ")}`);
      }
      return {
        source: copied,
        target: verified,
        replaced: held,
        migrated: applied,
        tokens: {
          copied: carried.get("token")?.count ?? 0,
          usableOnSource,
          usableOnTarget: await countUsableTokens(tx, now),
        },
      };
    });
  } catch (error) {
    if (error instanceof RefusedError && !(error instanceof CopyRefusedError)) {
      throw new CopyRefusedError(error.message);
    }
    throw translate(error);
  }
}

/** Every transferred table (history and the trash unless left out), parents first, from the snapshot into the target. */
async function copyRows(
  snapshot: Executor,
  read: Runner,
  write: Runner,
  batchRows: number,
  progress: CopyProgressCallback,
  history: boolean,
): Promise<CopySummary> {
  const totals = await keptCounts(snapshot);
  const digest = new RowDigest();
  for (const table of carriedTables(history)) {
    for await (const rows of rowsOf(read, table, batchRows)) {
      await insertAll(write, table, rows);
      digest.add(table, rows);
      await progress({ phase: table.plural, done: digest.rows(table), total: totals[table.plural] });
    }
  }
  return digest.summary();
}

/** A table copied only when asked: how many rows, and the checksum of what its description compares. */
interface Carried {
  count: number;
  checksum: string;
}

const rowCount = (table: TableDescription) => (db: Kysely<Database>) =>
  loose(db)
    .selectFrom(table.name)
    .select((eb) => eb.fn.countAll().as("count"));

/** A table asked for (tokens: few, people make them one by one), as it is. */
async function copyAsked(read: Runner, write: Runner, table: TableDescription, batchRows: number): Promise<Carried> {
  const digest = new RowDigest();
  for await (const rows of rowsOf(read, table, batchRows)) {
    await insertAll(write, table, rows);
    digest.add(table, rows);
  }
  return { count: digest.rows(table), checksum: digest.summary().checksum };
}

async function digestOf(run: Runner, table: TableDescription, batchRows: number): Promise<Carried> {
  const digest = new RowDigest();
  for await (const rows of rowsOf(run, table, batchRows)) digest.add(table, rows);
  return { count: digest.rows(table), checksum: digest.summary().checksum };
}
