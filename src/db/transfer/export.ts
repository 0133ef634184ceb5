/**
 * Reads every transferred table, parents first and each by id, from one snapshot (snapshot.ts), a
 * keyset batch at a time: memory holds one batch, however large the database. The snapshot never
 * holds up anyone else: on SQLite it reads on a connection of its own, so the store's one
 * connection stays free for requests.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Store } from "../database.js";
import { translate } from "../errors.js";
import { keptCounts, onExecutor, rowsOf } from "./bulk.js";
import { openSnapshot } from "./snapshot.js";
import { carriedTables, type Row, type Transferred } from "./tables.js";

/** Rows per query when the server streams an export: small enough to keep every turn short. */
export const EXPORT_BATCH_ROWS = 1_000;

/** Rows of one table, with the columns its export records hold. */
export interface ExportBatch {
  table: Transferred;
  rows: Row[];
}

export interface ExportOptions {
  batchRows?: number;
  /** Wait for the next turn of the event loop between batches, so a server keeps answering others. */
  yieldBetweenBatches?: boolean;
  /** False leaves note history and the trash out (`--no-history`). */
  history?: boolean;
}

/** How many rows each table has now (the kept counts): for progress, not for the file. */
export const exportTotals = (store: Store) => keptCounts(store);

/**
 * Every row of every transferred table (but history and the trash when left out), each table by id, from one snapshot. Ends the snapshot when
 * iteration ends, also early (a client that went away).
 */
export async function* exportBatches(store: Store, options: ExportOptions = {}): AsyncGenerator<ExportBatch> {
  const limit = options.batchRows ?? EXPORT_BATCH_ROWS;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError("batchRows must be a whole number ≥ 1");
  const snapshot = await openSnapshot(store, { holdStore: false });
  try {
    const read = onExecutor(snapshot, store.db);
    for (const table of carriedTables(options.history ?? true)) {
      const pages = rowsOf(read, table, limit, table.exported.columns);
      for (;;) {
        let next: IteratorResult<Row[]>;
        try {
          next = await pages.next();
        } catch (error) {
          throw translate(error);
        }
        if (next.done) break;
        yield { table, rows: next.value };
        if (options.yieldBetweenBatches) await nextTurn();
      }
    }
  } finally {
    await snapshot.close();
  }
}
