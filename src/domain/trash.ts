import type { UnitOfWork as Transactional } from "../db/executor.js";
import { findNote } from "../db/notes-repository.js";
import { findPerson, findPersonByName, type NameTaken } from "../db/people-repository.js";
import { type Periodic, runPeriodically } from "../db/periodic.js";
import {
  countTrash,
  findTrashEntry,
  findTrashEntryForRestore,
  holderOfIds,
  type IdTaken,
  listTrash,
  personInTrash,
  purgeExpired,
  removeTrashEntry,
  type TrashEntryRow,
  type TrashRows,
  writeBack,
} from "../db/trash-repository.js";
import { conflict, notFound, personExists } from "./errors.js";
import { toNote } from "./notes.js";
import { decodeCursor, type Page, toPage } from "./paging.js";
import { type Caller, mayPurgeTrash, mayReadTrashEntry, mayRestoreTrashEntry, permit, trashScope } from "./policy.js";
import { DEFAULT_TRASH, type TrashSettings } from "./settings.js";
import type { TrashEntry } from "./types.js";
import { type ChangeAnnouncer, NOBODY_LISTENING, UnitOfWork } from "./unit-of-work.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Entries are listed newest first, paged by their id. */
const TRASH_CURSOR = ["id"] as const;
/** Entries purged per transaction, and transactions per purge at most. */
const PURGE_BATCH = 200;
const PURGE_ROUNDS = 50;

const trashNotFound = (trashId: number) => notFound(`Trash entry not found for Id: ${trashId}`);
const idsTaken = (holder: string) => conflict(`${holder}: the entry cannot come back under its own ids`);

/**
 * Thrown inside a restore whose rows the database refused (an id or the person's names taken);
 * answered once it has rolled back.
 */
class WriteBackRefused {
  constructor(
    readonly personId: number,
    readonly rows: TrashRows,
    readonly outcome: NameTaken | IdTaken,
  ) {}
}

/**
 * The trash: what deleting a note or a person kept (src/domain/notes.ts and people.ts put it
 * there), listed, restored as it was, or purged. Expired entries are purged by `purgeExpired`,
 * which the server runs periodically in every process; on PostgreSQL one process at a time purges.
 */
export class TrashService {
  readonly #writes: UnitOfWork;

  constructor(
    private readonly store: Transactional,
    changes: ChangeAnnouncer = NOBODY_LISTENING,
    private readonly settings: TrashSettings = DEFAULT_TRASH,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.#writes = new UnitOfWork(store, changes, now);
  }

  #shown = (row: TrashEntryRow): TrashEntry => ({
    trash_id: row.trash_id,
    kind: row.kind,
    person_id: row.person_id,
    note_id: row.note_id,
    fname: row.fname,
    lname: row.lname,
    content: row.content,
    notes: row.notes,
    deleted_at: row.deleted_at,
    expires_at: new Date(Date.parse(row.deleted_at) + this.settings.retentionDays * DAY_MS).toISOString(),
  });

  /** The caller's entries (an admin's: all of them), most recently deleted first. */
  async list(caller: Caller, limit: number, cursor?: string): Promise<Page<TrashEntry>> {
    const after = decodeCursor<[number]>(cursor, TRASH_CURSOR);
    const scope = trashScope(caller);
    const [rows, total] = await Promise.all([
      listTrash(this.store, limit + 1, after?.[0] ?? Number.MAX_SAFE_INTEGER, scope),
      countTrash(this.store, scope),
    ]);
    return toPage(rows, limit, total, (row) => [row.trash_id], this.#shown);
  }

  /**
   * Writes the entry's rows back as they were deleted (same ids, versions, timestamps, history)
   * and announces it: `note.restored` with the note, `person.restored` with the person (their
   * notes come back with them, without events of their own).
   */
  async restore(caller: Caller, trashId: number): Promise<TrashEntry> {
    try {
      return await this.#writes.transaction(async (tx) => {
        const entry = await findTrashEntryForRestore(tx, trashId);
        // Someone else's entries are not theirs to see: not found, as if it were not there.
        if (!entry || !mayReadTrashEntry(caller, entry)) throw trashNotFound(trashId);
        permit(caller, mayRestoreTrashEntry(caller, entry), entry.kind === "person" ? "admin" : "own");
        const { person_id: personId } = entry;
        if (entry.kind === "note" && !(await findPerson(tx, personId))) {
          const where = (await personInTrash(tx, personId)) ? "is in the trash: restore them first" : "is gone";
          throw conflict(`Note ${entry.note_id} belongs to person ${personId}, who ${where}`);
        }
        const refused = await writeBack(tx, entry.rows);
        if (refused) throw new WriteBackRefused(personId, entry.rows, refused);
        await removeTrashEntry(tx, entry, false);
        const { person } = entry.rows;
        if (entry.kind === "person" && person) {
          const { fname, lname, timestamp } = person;
          await tx.record({
            kind: "person.restored",
            personId,
            resourceId: personId,
            resource: { person_id: personId, fname, lname, timestamp },
          });
        } else if (entry.note_id !== null) {
          const note = await findNote(tx, personId, entry.note_id);
          if (!note) throw new Error(`note ${entry.note_id} was not written back`);
          await tx.record({ kind: "note.restored", personId, resourceId: entry.note_id, resource: toNote(note) });
        }
        return this.#shown(entry);
      });
    } catch (error) {
      if (!(error instanceof WriteBackRefused)) throw error;
      throw await this.#refusal(error);
    }
  }

  /**
   * Why the database refused the rows, read afresh now that the transaction has rolled back: a
   * live row under one of the entry's ids, else someone with the person's names (as compared).
   */
  async #refusal({ personId, rows, outcome }: WriteBackRefused): Promise<Error> {
    const ids = await holderOfIds(this.store, rows).catch(() => undefined);
    if (ids?.kind === "person") return idsTaken(`Person ${ids.person_id} is live again, as ${ids.fname} ${ids.lname}`);
    if (ids?.kind === "note") {
      return idsTaken(
        `Note ${ids.note_id} is live again, as a note of ${ids.fname} ${ids.lname} (person ${ids.person_id})`,
      );
    }
    const { person } = rows;
    if (outcome === "id-taken" || !person) return conflict("An id the entry keeps was taken meanwhile: try again");
    const holder = await findPersonByName(this.store, person).catch(() => undefined);
    if (!holder) return personExists(person);
    return conflict(
      `${holder.fname} ${holder.lname} (person ${holder.person_id}) has the names of person ${personId} now: ` +
        "rename one of them to restore it",
    );
  }

  /** Deletes the entry for good; a person's takes the entries of their notes deleted before them. */
  async purge(caller: Caller, trashId: number): Promise<void> {
    permit(caller, mayPurgeTrash(caller), "admin");
    await this.#writes.transaction(async (tx) => {
      const entry = await findTrashEntry(tx, trashId);
      if (!entry || !(await removeTrashEntry(tx, entry, true))) throw trashNotFound(trashId);
    });
  }

  /**
   * Purges every entry older than the retention, a batch per transaction; returns how many went.
   * Another process purging at the same time (PostgreSQL) makes this one purge nothing.
   */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(Date.parse(this.now()) - this.settings.retentionDays * DAY_MS).toISOString();
    let purged = 0;
    for (let round = 0; round < PURGE_ROUNDS; round++) {
      const batch = await this.#writes.transaction((tx) => purgeExpired(tx, cutoff, PURGE_BATCH));
      purged += batch;
      if (batch === 0) break;
    }
    return purged;
  }
}

/** How often each process purges the expired entries of the trash. */
export const PURGE_INTERVAL_MS = 60_000;

/** Where the purger says what it did, and what failed. */
export interface PurgeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Purges the expired entries every `intervalMs`. A purge that finds the database busy or away is
 * tried again next time; any other failure is logged once, until a purge succeeds again.
 */
export function purgeTrashPeriodically(
  trash: TrashService,
  log: PurgeLog,
  intervalMs: number = PURGE_INTERVAL_MS,
): Periodic {
  return runPeriodically(
    intervalMs,
    async () => {
      const purged = await trash.purgeExpired();
      if (purged > 0) log.info({ purged }, "purged expired entries of the trash");
    },
    (error) => log.warn({ err: error }, "could not purge the trash; expired entries stay until a purge succeeds"),
  );
}
