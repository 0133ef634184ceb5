import { CompiledQuery, type Kysely, sql } from "kysely";
import { type Executor, prepareQuery, type UnitOfWork } from "../executor.js";
import type { ChangeKind, Database } from "../schema.js";

export type { ChangeKind };

export interface NewChange {
  kind: ChangeKind;
  person_id: number;
  resource_id: number;
  data: string;
  recorded_at: string;
}

export interface ChangeRow {
  revision: number;
  kind: ChangeKind;
  person_id: number;
  resource_id: number;
  data: string;
}

/**
 * Changes after a revision, oldest first, with the `xmin` of the snapshot they were read in
 * (PostgreSQL): every transaction with a lower id had ended by then. On SQLite it is null: writers
 * take turns, so revisions commit in order.
 */
export interface ChangesRead {
  rows: ChangeRow[];
  xmin: number | null;
}

const insert = prepareQuery(
  (db, kind: ChangeKind, personId: number, resourceId: number, data: string, recordedAt: string) =>
    db
      .insertInto("change")
      .values({ kind, person_id: personId, resource_id: resourceId, data, recorded_at: recordedAt })
      .returning("revision"),
);

const changeColumns = ["revision", "kind", "person_id", "resource_id", "data"] as const;

const after = prepareQuery({
  sqlite: (db, revision: number, limit: number) =>
    db
      .selectFrom("change")
      .select(changeColumns)
      .select(sql<null>`null`.as("xmin"))
      .where("revision", ">", revision)
      .orderBy("revision")
      .limit(limit),
  // The snapshot's bounds come from the same statement, so they describe exactly what it saw; the
  // outer row is there even when no change is.
  postgres: (db, revision: number, limit: number) =>
    db
      .selectFrom(sql<{ xmin: number }>`(select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as xmin)`.as("s"))
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom("change")
            .select(changeColumns)
            .where("revision", ">", revision)
            .orderBy("revision")
            .limit(limit)
            .as("c"),
        (join) => join.onTrue(),
      )
      .select(["c.revision", "c.kind", "c.person_id", "c.resource_id", "c.data", "s.xmin"])
      .orderBy("c.revision"),
});

// Pruning never lowers it: the horizon keeps the newest revision of a table pruned empty.
const newestOf = (larger: "max" | "greatest") => (db: Kysely<Database>) =>
  db
    .selectFrom("feed_horizon")
    .select((eb) =>
      eb
        .fn<number>(larger, [
          "pruned_through",
          eb.fn.coalesce(
            eb.selectFrom("change").select((inner) => inner.fn.max("revision").as("newest")),
            eb.lit(0),
          ),
        ])
        .as("revision"),
    )
    .where("name", "=", "change");
const newest = prepareQuery({ sqlite: newestOf("max"), postgres: newestOf("greatest") });

const transactionId = prepareQuery((db) => db.selectNoFrom(sql<number>`pg_current_xact_id()::text::bigint`.as("xid")));

const horizon = prepareQuery((db) =>
  db.selectFrom("feed_horizon").select("pruned_through").where("name", "=", "change"),
);

const cutFor = prepareQuery((db, keepChanges: number, recordedBefore: string) =>
  db
    .selectFrom("change")
    .select((eb) => eb.fn.max("revision").as("cut"))
    .where((eb) =>
      eb.or([
        eb(
          "revision",
          "<=",
          eb
            .selectFrom("change")
            .select((inner) => sql<number>`${inner.fn.max("revision")} - ${keepChanges}`.as("bound")),
        ),
        eb("recorded_at", "<", recordedBefore),
      ]),
    ),
);

const pruneThrough = prepareQuery((db, cut: number) => db.deleteFrom("change").where("revision", "<=", cut));

const raiseHorizon = prepareQuery((db, cut: number) =>
  db
    .updateTable("feed_horizon")
    .set({ pruned_through: cut })
    .where("name", "=", "change")
    .where("pruned_through", "<", cut),
);

/** Records a change; run it in the transaction that makes the change, after the change itself. */
export async function recordChange(tx: Executor, change: NewChange): Promise<number> {
  const row = await insert.first(
    tx,
    change.kind,
    change.person_id,
    change.resource_id,
    change.data,
    change.recorded_at,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row.revision;
}

export async function changesAfter(ex: Executor, revision: number, limit: number): Promise<ChangesRead> {
  const { rows } = await after.run(ex, revision, limit);
  const first = rows[0];
  return {
    rows: rows.filter((row): row is typeof row & ChangeRow => row.revision !== null),
    xmin: first?.xmin ?? null,
  };
}

/** The newest revision there has been, pruned or not. */
export async function newestRevision(ex: Executor): Promise<number> {
  return Number((await newest.first(ex))?.revision ?? 0);
}

/**
 * PostgreSQL: a transaction id handed out now, in a transaction of its own, so higher than that
 * of every transaction that already had one.
 */
export async function newestTransactionId(ex: Executor): Promise<number> {
  return Number((await transactionId.first(ex))?.xid ?? 0);
}

/** The newest revision pruned: revisions up to it can no longer be read. */
export async function prunedThrough(ex: Executor): Promise<number> {
  return Number((await horizon.first(ex))?.pruned_through ?? 0);
}

/**
 * Prunes the changes beyond the newest `keepChanges`, and those recorded before `recordedBefore`;
 * returns the newest revision pruned, or 0 when nothing was. Run it in a transaction.
 */
export async function pruneChanges(tx: Executor, keepChanges: number, recordedBefore: string): Promise<number> {
  const cut = Number((await cutFor.first(tx, keepChanges, recordedBefore))?.cut ?? 0);
  if (cut <= 0) return 0;
  await raiseHorizon.run(tx, cut);
  await pruneThrough.run(tx, cut);
  return cut;
}

/** How long waiting for the writers in flight may hold new writers back. */
const WRITERS_WAIT_MS = 50;

/**
 * PostgreSQL: waits until every transaction that has recorded a change and not yet ended has
 * committed or rolled back. Recording a change holds the table's ROW EXCLUSIVE lock until the
 * transaction ends, and a SHARE lock waits for all of those (new writers wait behind it, for as
 * long as the ones in flight take to finish, and at most WRITERS_WAIT_MS). Throws when that does
 * not happen in time. Nothing to wait for on SQLite, where writers take turns.
 */
export async function waitForChangeWriters(store: UnitOfWork): Promise<void> {
  if (store.engine !== "postgres") return;
  await store.transaction(async (tx) => {
    await tx.executeQuery(CompiledQuery.raw(`set local lock_timeout = ${WRITERS_WAIT_MS}`));
    await tx.executeQuery(CompiledQuery.raw("lock table change in share mode"));
  });
}
