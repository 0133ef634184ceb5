import { setTimeout as sleep } from "node:timers/promises";
import {
  type ChangeKind,
  type ChangeRow,
  changesAfter,
  newestRevision,
  newestTransactionId,
  pruneChanges,
  prunedThrough,
  waitForChangeWriters,
} from "../db/changes/repository.js";
import type { ChangeSignals } from "../db/changes/signals.js";
import { DatabaseUnavailableError } from "../db/errors.js";
import type { UnitOfWork } from "../db/executor.js";
import type { StoreLog } from "../db/log.js";
import { DEFAULT_FEED_SETTINGS, type FeedSettings } from "./settings.js";

export type { ChangeKind };

/** One committed change, as the feed passes it on. */
export interface FeedEvent {
  revision: number;
  kind: ChangeKind;
  personId: number;
  resourceId: number;
  /** The changed resource as JSON (its ids for a deletion). */
  data: string;
}

/** What a write records in its transaction (`WriteTransaction.record`): the resource after it (or its ids). */
export interface Change {
  /** What happened to which type of resource (`note.created`): the type is the part before the dot. */
  kind: ChangeKind;
  /** The person the resource belongs to; for a change to a person, that person. */
  personId: number;
  /** The resource's id among those of its type (a note's id, a person's id, …). */
  resourceId: number;
  resource: object;
}

/**
 * Takes changes in revision order; or, with `reload`, the word that changes it was owed were pruned
 * before the feed read them (`events` is then empty): what it holds must be read again, and it now
 * stands at `reload.revision`.
 */
export type Listener = (events: readonly FeedEvent[], reload?: { revision: number }) => void;

type Start = { missed: FeedEvent[] } | { reload: true };

export interface Subscription {
  /** Where the listener now stands: every change up to it was in `missed` or is not coming. */
  readonly revision: number;
  /** The changes it missed are gone (or were never here): what it holds must be read again. */
  readonly reload: boolean;
  readonly missed: FeedEvent[];
  close(): void;
}

/** Changes read at once; a backlog is read in batches of this many. */
const BATCH = 500;
/**
 * On start-up the feed begins this many revisions back, since a change with a lower revision than
 * the newest may still be committing; it would take that many writers committing at once to miss one.
 */
const START_WINDOW = 1000;
const GAP_RECHECK_MS = [5, 10, 20, 50, 100, 250];
/**
 * Missed changes a resuming client is sent at most, by count and by size; further behind, it is
 * told to reload. The replay is held in memory until its client has taken it.
 */
const MAX_REPLAY = 10_000;
const MAX_REPLAY_BYTES = 16 * 1024 * 1024;
/** Rechecks of a gap by the snapshot alone before the feed waits for the writers in flight. */
const WRITER_WAIT_AFTER_CHECKS = 2;

/**
 * The change feed of one process: it reads the changes table in revision order and passes each
 * committed change to every listener, once, in order.
 *
 * On PostgreSQL, revisions are taken before their transactions commit, so revision 7 may become
 * visible while 6 is still committing (or will roll back). A missing revision is a gap the feed
 * does not pass until it knows the transaction that took it has ended. When it first sees the gap
 * it takes a new transaction id, higher than that of any transaction already holding a revision;
 * once a later snapshot's `xmin` is past that id, every such transaction has ended, so 6 is either
 * visible by now or never will be. On SQLite writers take turns, so there are no such gaps.
 */
/** Revisions missing below `seenThrough`, and how to tell when they can no longer turn up. */
interface Gap {
  /** The newest revision visible when the gap was seen: every one missing below it had been taken. */
  seenThrough: number;
  /**
   * A transaction id handed out after the gap was seen, so above those of every transaction that
   * holds a missing revision: once a snapshot's `xmin` is past it, they have all ended.
   */
  bound: number;
  /** Set when the writers in flight were waited for: reads started after this many may pass the gap. */
  writersDoneAfterRead?: number;
}

export class ChangeFeed {
  #position = 0;
  #gap: Gap | undefined;
  #gapChecks = 0;
  /** Reads started so far: tells a read that began after a lock was granted from one before. */
  #reads = 0;
  #recheckPending = false;
  readonly #listeners = new Set<Listener>();
  #reading: Promise<unknown> | undefined;
  #readAgain = false;
  #started: Promise<void> | undefined;
  readonly #stopped = new AbortController();
  #listening: { close(): Promise<void> } | undefined;
  #reported = false;

  constructor(
    private readonly store: UnitOfWork & { changeSignals: ChangeSignals },
    private readonly log: StoreLog,
    private readonly settings: FeedSettings = DEFAULT_FEED_SETTINGS,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  /**
   * Finds where the feed stands, then listens for signals, reads on a timer and prunes. A database
   * that cannot be read makes it throw (a subscriber gets 503); the next call tries again.
   */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  async #start(): Promise<void> {
    const newest = await newestRevision(this.store);
    if (this.#stopped.signal.aborted) return;
    this.#position = Math.max(0, newest - START_WINDOW);
    this.#listening = this.store.changeSignals.listen(() => this.wake());
    void this.#every(this.settings.pollMs, () => this.#readNow());
    void this.#every(this.settings.pruneEveryMs, () => this.prune());
    const failed = await this.#readNow();
    if (failed !== undefined) throw failed;
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    this.#listeners.clear();
    await this.#started?.catch(() => {});
    await this.#listening?.close();
  }

  /** Told by a unit of work (`src/domain/unit-of-work.ts`) after a transaction that recorded changes committed. */
  committed(changes: readonly FeedEvent[]): void {
    this.store.changeSignals.announce();
    if (this.#passCommitted(changes)) return;
    // Across processes the announcement comes back as a signal; without signals, read at once.
    if (!this.store.changeSignals.crossProcess) this.wake();
  }

  /**
   * Passes on changes this process has just committed without reading them back, when they are
   * exactly the next revisions: every revision up to the feed's position has been passed on, so
   * nothing can come between (on PostgreSQL, a lower revision still committing would leave a gap
   * below them). Not while a read is under way (it may return them too) or a gap is open; then,
   * and when anything else committed first, the table is read as before. True when passed on.
   */
  #passCommitted(changes: readonly FeedEvent[]): boolean {
    if (this.#listeners.size === 0 || this.#reading !== undefined || this.#gap !== undefined) return false;
    if (!changes.every((change, i) => change.revision === this.#position + 1 + i)) return false;
    const last = changes.at(-1);
    if (last === undefined) return false;
    this.#position = last.revision;
    this.#passOn([...changes]);
    return true;
  }

  /** Reads the feed soon; several wakes while a read runs make one more read. */
  wake(): void {
    if (this.#listeners.size === 0) return;
    void this.#readNow();
  }

  /**
   * Adds a listener from `since` (its last revision), or from now. The changes it missed come back
   * in `missed`, and every later one goes to `listener`. When changes it missed were pruned, or
   * `since` is not a revision this database has reached, `reload` says so, and `missed` holds
   * only what came after the listener's new start.
   */
  async subscribe(since: number | undefined, listener: Listener): Promise<Subscription> {
    await this.start();
    // "From now" includes every change committed before the subscription: read up to them first.
    const failed = await this.#readNow();
    if (failed !== undefined) throw failed;
    let through = this.#position;
    let early: FeedEvent[] | undefined = [];
    /** Set when a reload came while the start was being worked out: the start is a reload from there. */
    let reloadedAt: number | undefined;
    const passOn: Listener = (events, reload) => {
      if (early === undefined)
        listener(
          events.filter((event) => event.revision > through),
          reload,
        );
      else if (reload) {
        reloadedAt = reload.revision;
        early = [];
      } else early.push(...events);
    };
    this.#listeners.add(passOn);
    const close = () => {
      this.#listeners.delete(passOn);
    };
    try {
      let start = since === undefined ? { missed: [] } : await this.#missedSince(since, through);
      if (reloadedAt !== undefined) {
        start = { reload: true };
        through = Math.max(through, reloadedAt);
      }
      const missed = "reload" in start ? [] : start.missed;
      if (!("reload" in start) && since !== undefined) through = Math.max(through, since);
      through = Math.max(through, missed.at(-1)?.revision ?? 0);
      missed.push(...early.filter((event) => event.revision > through));
      early = undefined;
      through = Math.max(through, missed.at(-1)?.revision ?? 0);
      return { revision: through, reload: "reload" in start, missed, close };
    } catch (error) {
      close();
      throw error;
    }
  }

  /** Changes after `since` up to `through` (every one of which has been seen), or "reload". */
  async #missedSince(since: number, through: number): Promise<Start> {
    if (since > through) {
      // Another process may have passed on changes this one has yet to read; beyond the newest
      // revision there is, though, the client's revision is not from this database.
      return since > (await newestRevision(this.store)) ? { reload: true } : { missed: [] };
    }
    if (since < (await prunedThrough(this.store))) return { reload: true };
    const missed: FeedEvent[] = [];
    let bytes = 0;
    for (let from = since; from < through; ) {
      const { rows } = await changesAfter(this.store, from, BATCH);
      const upTo = rows.filter((row) => row.revision <= through);
      missed.push(...upTo.map(toEvent));
      for (const row of upTo) bytes += Buffer.byteLength(row.data);
      // A client far behind reloads rather than have its whole backlog held in memory.
      if (missed.length > MAX_REPLAY || bytes > MAX_REPLAY_BYTES) return { reload: true };
      if (upTo.length < rows.length || rows.length < BATCH) break;
      from = rows.at(-1)?.revision ?? through;
    }
    // Pruned while being read: what was missed may have lost its oldest changes.
    if (since < (await prunedThrough(this.store))) return { reload: true };
    return { missed };
  }

  /** Prunes changes past retention; returns the newest revision pruned (0: none). */
  async prune(): Promise<number> {
    const { changes, hours } = this.settings.retention;
    const before = new Date(Date.parse(this.now()) - hours * 3_600_000).toISOString();
    return this.store.transaction((tx) => pruneChanges(tx, changes, before));
  }

  /** Reads what is new; resolves to the error when the read failed (the next wake or tick retries). */
  #readNow(): Promise<unknown> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#readAgain = false;
          await this.#readOnce();
        } while (this.#readAgain && !this.#stopped.signal.aborted);
        this.#reported = false;
        return undefined;
      } catch (error) {
        this.#report(error);
        return error;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #readOnce(): Promise<void> {
    for (;;) {
      const read = ++this.#reads;
      const { rows, xmin } = await changesAfter(this.store, this.#position, BATCH);
      let settledThrough = this.#position;
      const gap = this.#gap;
      if (gap !== undefined && this.#settled(gap, xmin, read)) {
        settledThrough = gap.seenThrough;
        this.#gap = undefined;
      }
      const passed: FeedEvent[] = [];
      let held = false;
      /** The first revision passed over without a row: rolled back, or pruned before this read. */
      let passedOver: number | undefined;
      for (const row of rows) {
        const inTurn = xmin === null || row.revision === this.#position + 1 || row.revision <= settledThrough;
        if (!inTurn) {
          held = true;
          break;
        }
        if (row.revision > this.#position + 1) passedOver ??= this.#position + 1;
        passed.push(toEvent(row));
        this.#position = row.revision;
      }
      // The missing revisions turned up: the gap is gone without waiting for its bound.
      if (this.#gap !== undefined && this.#position >= this.#gap.seenThrough) this.#gap = undefined;
      // Pruning may have taken changes this process had yet to read (retention shorter than the
      // feed's lag): listeners cannot be given them, so they are told to read again instead.
      if (passedOver !== undefined && passedOver <= (await prunedThrough(this.store))) {
        this.#passOn([], { revision: this.#position });
      } else this.#passOn(passed);
      if (held) {
        // Taken after the read, so above the id of every transaction holding a revision it missed.
        this.#gap ??= {
          seenThrough: rows.at(-1)?.revision ?? this.#position,
          bound: await newestTransactionId(this.store),
        };
        this.#recheckGapSoon();
        return;
      }
      this.#gapChecks = 0;
      if (rows.length < BATCH) return;
    }
  }

  /** Whether every transaction that may hold a revision below the gap's has ended, as of read number `read`. */
  #settled(gap: Gap, xmin: number | null, read: number): boolean {
    if (xmin === null || xmin > gap.bound) return true;
    return gap.writersDoneAfterRead !== undefined && read > gap.writersDoneAfterRead;
  }

  #passOn(events: FeedEvent[], reload?: { revision: number }): void {
    if (events.length === 0 && reload === undefined) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(events, reload);
      } catch (error) {
        this.log.error({ err: error }, "a change feed listener failed");
      }
    }
  }

  /**
   * Reads again shortly. The gap usually closes by itself within milliseconds; when it does not (a
   * long transaction elsewhere on the server keeps `xmin` back), the feed waits for the writers of
   * changes in flight instead, which settles the gap whatever else the server is running.
   */
  #recheckGapSoon(): void {
    if (this.#recheckPending) return;
    this.#recheckPending = true;
    const checks = this.#gapChecks++;
    const wait = GAP_RECHECK_MS[Math.min(checks, GAP_RECHECK_MS.length - 1)] ?? 250;
    void (async () => {
      try {
        await sleep(wait, undefined, { signal: this.#stopped.signal, ref: false });
        const gap = this.#gap;
        if (gap !== undefined && checks >= WRITER_WAIT_AFTER_CHECKS) {
          await waitForChangeWriters(this.store);
          // Only a read that starts from here on sees what those writers committed.
          gap.writersDoneAfterRead = this.#reads;
        }
      } catch (error) {
        if (this.#stopped.signal.aborted) return;
        this.#report(error);
      } finally {
        this.#recheckPending = false;
      }
      void this.#readNow();
    })();
  }

  async #every(ms: number, work: () => Promise<unknown>): Promise<void> {
    while (!this.#stopped.signal.aborted) {
      try {
        await sleep(ms, undefined, { signal: this.#stopped.signal, ref: false });
      } catch {
        return;
      }
      await work().catch((error: unknown) => this.#report(error));
    }
  }

  #report(error: unknown): void {
    if (error instanceof DatabaseUnavailableError || this.#reported) return;
    this.#reported = true;
    this.log.warn({ err: error }, "could not read the change feed; trying again");
  }
}

const toEvent = (row: ChangeRow): FeedEvent => ({
  revision: row.revision,
  kind: row.kind,
  personId: row.person_id,
  resourceId: row.resource_id,
  data: row.data,
});
