/**
 * An online backup of a SQLite database with SQLite's backup API, consistent while the service runs
 * and writes. The copy is made beside the destination, checked, and only then renamed into place.
 */
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type Counts, countsOf } from "./tables.js";

/** SQLite's largest page count for one backup step: the whole database in one go. */
const ALL_PAGES = 0x7fffffff;
const COMPANIONS = ["-wal", "-shm", "-journal"];

export interface BackupOptions {
  /** Replace a file that is already there. */
  overwrite?: boolean;
  /** How long to wait for a lock held by another connection (only a checkpoint or recovery holds one). */
  lockTimeoutMs?: number;
}

export interface BackupReport {
  file: string;
  pages: number;
  bytes: number;
  /** The rows of each transferred table in the backup. */
  counts: Counts;
}

/** The backup cannot be made as asked (no database, the file exists, the same file twice). */
export class BackupRefusedError extends Error {
  override name = "BackupRefusedError";
}

/** The backup was made but did not pass SQLite's integrity check; it was removed. */
export class BackupCheckError extends Error {
  override name = "BackupCheckError";
}

export async function backupSqlite(
  databasePath: string,
  destination: string,
  options: BackupOptions = {},
): Promise<BackupReport> {
  const file = resolve(destination);
  if (databasePath === ":memory:") throw new BackupRefusedError("an in-memory database cannot be backed up");
  if (!existsSync(databasePath)) throw new BackupRefusedError(`there is no SQLite database at ${databasePath}`);
  if (resolve(databasePath) === file) throw new BackupRefusedError("the backup file is the database itself");
  if (existsSync(file) && !options.overwrite) {
    throw new BackupRefusedError(`${file} exists already; pass --force to replace it`);
  }
  const partial = `${file}.partial-${process.pid}`;
  removeWithCompanions(partial);
  try {
    const pages = await copyPages(databasePath, partial, options.lockTimeoutMs ?? 5000);
    const counts = await checkBackup(partial);
    // A stale journal or WAL beside the old file would be applied to the new one when it is opened.
    for (const suffix of COMPANIONS) rmSync(`${file}${suffix}`, { force: true });
    renameSync(partial, file);
    return { file, pages, bytes: statSync(file).size, counts };
  } finally {
    removeWithCompanions(partial);
  }
}

/**
 * All pages in one backup step, from one read snapshot: SQLite starts a backup of a few pages a step
 * over whenever another connection writes between two steps, so under a steady writer it could take
 * any number of tries. In WAL mode that one read holds up no writer.
 */
async function copyPages(databasePath: string, partial: string, lockTimeoutMs: number): Promise<number> {
  const source = new BetterSqlite3(databasePath, { readonly: true, fileMustExist: true, timeout: lockTimeoutMs });
  try {
    const { totalPages } = await source.backup(partial, { progress: () => ALL_PAGES });
    return totalPages;
  } finally {
    source.close();
  }
}

/**
 * Opens the backup as the service would, runs `pragma integrity_check`, and counts its rows. It is
 * left in rollback-journal mode, so the file alone is the whole backup; the service turns WAL back on
 * when it opens a restored copy.
 */
async function checkBackup(partial: string): Promise<Counts> {
  const backup = new BetterSqlite3(partial, { fileMustExist: true });
  try {
    const problems = (backup.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check);
    if (problems.length !== 1 || problems[0] !== "ok") {
      throw new BackupCheckError(`the backup failed its integrity check: ${problems.slice(0, 3).join("; ")}`);
    }
    backup.pragma("journal_mode = delete");
    return await countsOf(({ name }) => {
      const exists = backup.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name);
      return exists ? (backup.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n : 0;
    });
  } finally {
    backup.close();
  }
}

function removeWithCompanions(path: string): void {
  for (const suffix of ["", ...COMPANIONS]) rmSync(`${path}${suffix}`, { force: true });
}
