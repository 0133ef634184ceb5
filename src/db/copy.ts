/**
 * Copies every person and note from one store into another, on either engine, keeping ids, versions
 * and timestamps. All or nothing: the whole copy is one transaction on the target, verified before it
 * commits. The source is read from one snapshot, in keyset batches, so memory stays bounded.
 */
import {
  clear,
  hasRows,
  insertAll,
  keepIdentitiesAhead,
  keptCounts,
  notes,
  onExecutor,
  type Progress,
  people,
  RefusedError,
  RowDigest,
  type RowSummary,
  type Runner,
  readSnapshot,
  requireLatestSchema,
  requireSchema,
  VerificationError,
  verifyLoad,
} from "./bulk.js";
import { migrateToLatest, type Store } from "./database.js";
import { translate } from "./errors.js";
import type { Executor } from "./executor.js";
import { foldNoteCounts } from "./notes-repository.js";

export { DEFAULT_BATCH_ROWS } from "./bulk.js";

import { DEFAULT_BATCH_ROWS } from "./bulk.js";

export type CopyPhase = "clearing" | "people" | "notes" | "verifying";

export interface CopyProgress {
  phase: CopyPhase;
  /** Rows done in this phase so far. */
  done: number;
  /** Rows this phase will handle (from the kept counts; verification counts people and notes). */
  total: number;
}

export interface CopyOptions {
  /** Delete the target's people and notes first; without it a non-empty target is refused. */
  replace?: boolean;
  /** Rows read per source query (and per delete with `replace`). */
  batchRows?: number;
  /** Called (and awaited) after every batch. Throwing from it aborts the copy, which then rolls back. */
  onProgress?: (progress: CopyProgress) => void | Promise<void>;
}

/** What one side holds: row counts and a SHA-256 over every row's fields in id order (see RowDigest). */
export type CopySummary = RowSummary;

export interface CopyReport {
  source: CopySummary;
  target: CopySummary;
  /** What the target held before, deleted by `replace`. */
  replaced: { people: number; notes: number };
  /** Migrations applied to the target before the copy. */
  migrated: string[];
}

/** The copy cannot start: the databases are not in a state to copy from or into. */
export class CopyRefusedError extends RefusedError {
  override name = "CopyRefusedError";
}

export class TargetNotEmptyError extends CopyRefusedError {
  override name = "TargetNotEmptyError";
  constructor(readonly held: { people: number; notes: number }) {
    super(`the target database is not empty: it has ${held.people} people and ${held.notes} notes`);
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
    return await target.transaction(async (tx) => {
      const write = onExecutor(tx, target.db);
      const held = await keptCounts(tx);
      if (held.people > 0 || held.notes > 0 || (await hasRows(write))) {
        if (!options.replace) throw new TargetNotEmptyError(held);
        await clear(write, held, batchRows, progress);
      }
      const copied = await readSnapshot(source, async (snapshot) =>
        copyRows(snapshot, onExecutor(snapshot, source.db), write, batchRows, progress),
      );
      await keepIdentitiesAhead(write, tx.engine);
      // The copied notes leave the target counted in full rather than counted live.
      await foldNoteCounts(tx);
      const { found: verified, problems } = await verifyLoad(tx, write, copied, batchRows, progress);
      if (problems.length > 0) {
        throw new CopyVerificationError(`verification failed, nothing was copied: ${problems.join("; ")}`);
      }
      return { source: copied, target: verified, replaced: held, migrated: applied };
    });
  } catch (error) {
    if (error instanceof RefusedError && !(error instanceof CopyRefusedError)) {
      throw new CopyRefusedError(error.message);
    }
    throw translate(error);
  }
}

async function copyRows(
  snapshot: Executor,
  read: Runner,
  write: Runner,
  batchRows: number,
  progress: CopyProgressCallback,
): Promise<CopySummary> {
  const totals = await keptCounts(snapshot);
  const digest = new RowDigest();
  for await (const rows of people(read, batchRows)) {
    await insertAll(write, rows, (chunk) => (db) => db.insertInto("person").values(chunk));
    digest.addPeople(rows);
    await progress({ phase: "people", done: digest.people, total: totals.people });
  }
  for await (const rows of notes(read, batchRows)) {
    await insertAll(write, rows, (chunk) => (db) => db.insertInto("note").values(chunk));
    digest.addNotes(rows);
    await progress({ phase: "notes", done: digest.notes, total: totals.notes });
  }
  return digest.summary();
}
