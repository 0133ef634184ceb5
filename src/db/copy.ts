/**
 * Copies every person and note from one store into another, on either engine, keeping ids, versions
 * and timestamps, and the tokens when asked. All or nothing: the whole copy is one transaction on
 * the target, verified before it commits. The source is read from one snapshot, in keyset batches,
 * so memory stays bounded.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
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
import type { Database } from "./schema.js";
import { countUsableTokens } from "./tokens-repository.js";

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
  /**
   * Copy the tokens too (their ids, hashes, kinds, persons, times and revocations), in place of
   * the target's own; a target that has tokens then needs `replace`. Without it tokens stay behind.
   */
  withTokens?: boolean;
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
    const withTokens = options.withTokens === true;
    const now = new Date().toISOString();
    return await target.transaction(async (tx) => {
      const write = onExecutor(tx, target.db);
      const held = await keptCounts(tx);
      const empty = held.people === 0 && held.notes === 0 && !(await hasRows(write));
      if (!empty && !options.replace) throw new TargetNotEmptyError(held);
      if (withTokens) {
        const [own] = await write(allTokens);
        if (Number(own?.count ?? 0) > 0) {
          if (!options.replace) {
            throw new CopyRefusedError(
              `the target database has ${own?.count} tokens of its own; pass --replace to replace them with the source's`,
            );
          }
          await write((db) => db.deleteFrom("token"));
        }
      }
      if (!empty) await clear(write, held, batchRows, progress);
      const { copied, tokens, usableOnSource } = await readSnapshot(source, async (snapshot) => {
        const read = onExecutor(snapshot, source.db);
        return {
          copied: await copyRows(snapshot, read, write, batchRows, progress),
          tokens: withTokens ? await copyTokens(read, write) : undefined,
          usableOnSource: await countUsableTokens(snapshot, now),
        };
      });
      await keepIdentitiesAhead(write, tx.engine, withTokens ? ["person", "note", "token"] : undefined);
      // The copied notes leave the target counted in full rather than counted live.
      await foldNoteCounts(tx);
      const { found: verified, problems } = await verifyLoad(tx, write, copied, batchRows, progress);
      if (tokens) {
        const found = tokenDigest(await write(tokenRows));
        if (found.count !== tokens.count || found.checksum !== tokens.checksum) {
          problems.push(`the source has ${tokens.count} tokens, the target ${found.count} that differ`);
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
        tokens: { copied: tokens?.count ?? 0, usableOnSource, usableOnTarget: await countUsableTokens(tx, now) },
      };
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

const tokenRows = (db: Kysely<Database>) => db.selectFrom("token").selectAll().orderBy("token_id");
const allTokens = (db: Kysely<Database>) => db.selectFrom("token").select((eb) => eb.fn.countAll().as("count"));
/** Tokens per INSERT: ten values each, far below both engines' parameter limits. */
const TOKEN_INSERT_ROWS = 1_000;

/** Every token, as it is (they are few: people make them one by one). */
async function copyTokens(read: Runner, write: Runner): Promise<{ count: number; checksum: string }> {
  const rows = await read(tokenRows);
  for (let start = 0; start < rows.length; start += TOKEN_INSERT_ROWS) {
    const chunk = rows.slice(start, start + TOKEN_INSERT_ROWS);
    await write((db) => db.insertInto("token").values(chunk));
  }
  return tokenDigest(rows);
}

/** What must be the same on both sides: which tokens, their secrets' hashes, kinds, persons and revocation. */
function tokenDigest(
  rows: { token_id: number; secret_hash: string; kind: string; person_id: number | null; revoked_at: string | null }[],
) {
  const hash = createHash("sha256");
  for (const row of rows) {
    hash.update(
      `${JSON.stringify([Number(row.token_id), row.secret_hash, row.kind, row.person_id === null ? null : Number(row.person_id), row.revoked_at !== null])}\n`,
    );
  }
  return { count: rows.length, checksum: hash.digest("hex") };
}
