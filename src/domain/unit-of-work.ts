import { recordChange } from "../db/changes/repository.js";
import type { Executor, UnitOfWork as Transactional } from "../db/executor.js";
import type { Change, FeedEvent } from "./changes.js";

/** One transaction of a write: it runs the repositories' statements and records what they changed. */
export interface WriteTransaction extends Executor {
  /**
   * Records a change in this transaction, after the change itself: it commits or rolls back with
   * it, and once committed it is announced to the change feed.
   */
  record(change: Change): Promise<void>;
}

/**
 * Told after a transaction that recorded changes has committed (the process's change feed), with
 * those changes as recorded, in revision order: the feed can pass them on without reading back the
 * rows it was just told of.
 */
export interface ChangeAnnouncer {
  committed(changes: readonly FeedEvent[]): void;
}

/** For stores with nobody listening (the CLI, tests): changes are recorded, and nobody is told. */
export const NOBODY_LISTENING: ChangeAnnouncer = { committed: () => {} };

/**
 * The one way a service writes: `transaction(work)` runs `work` in one transaction and hands it a
 * transaction that can `record` its changes. The unit of work, never the caller, announces them:
 * once, after the commit, and only when something was recorded; a rollback announces nothing.
 */
export class UnitOfWork {
  constructor(
    private readonly store: Transactional,
    private readonly announcer: ChangeAnnouncer = NOBODY_LISTENING,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async transaction<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    const recorded: FeedEvent[] = [];
    const result = await this.store.transaction(async (tx) => {
      let open = true;
      const write: WriteTransaction = {
        engine: tx.engine,
        executeQuery: (query) => tx.executeQuery(query),
        executeQueryFirst: (query) => tx.executeQueryFirst(query),
        record: async (change) => {
          if (!open) throw new Error("a change cannot be recorded: its transaction has ended");
          const data = JSON.stringify(change.resource);
          const revision = await recordChange(tx, {
            kind: change.kind,
            person_id: change.personId,
            resource_id: change.resourceId,
            data,
            recorded_at: this.now(),
          });
          recorded.push({
            revision,
            kind: change.kind,
            personId: change.personId,
            resourceId: change.resourceId,
            data,
          });
        },
      };
      try {
        return await work(write);
      } finally {
        open = false;
      }
    });
    if (recorded.length > 0) this.announcer.committed(recorded);
    return result;
  }
}
