import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { BackupCheckError, BackupRefusedError, backupSqlite } from "../db/transfer/backup.js";
import { inWords } from "../db/transfer/tables.js";
import type { Command } from "./command.js";
import { failureLine } from "./errors.js";
import { io, printError, printLine } from "./io.js";

const OPTIONS = `FILE              where the backup goes (refused if it exists)
--force           replace FILE if it exists
Consistent while the server runs and writes (SQLite's backup API, one read snapshot); the backup
is checked with pragma integrity_check before it is put in place. SQLite only: for PostgreSQL use
pg_dump.`;

export const backup: Command = {
  summary: "back up the SQLite database named by DATABASE_URL to FILE, online",
  options: OPTIONS,
  async run(args) {
    const parsed = parseBackupArgs(args);
    if (typeof parsed === "string") {
      printError(`people-notes db backup: ${parsed}\n\nUsage: people-notes db backup FILE [--force]\n${OPTIONS}`);
      return parsed === "help" ? 0 : 2;
    }
    const { database } = loadConfig(io().env);
    if (database.engine !== "sqlite") {
      throw new ConfigError(
        'db backup is for SQLite; back up PostgreSQL with pg_dump, e.g. pg_dump -Fc -d "postgres://…" [-n schema] -f FILE',
      );
    }
    try {
      const report = await backupSqlite(database.path, parsed.file, {
        overwrite: parsed.force,
        lockTimeoutMs: database.limits?.lockTimeoutMs,
      });
      const megabytes = (report.bytes / 1024 / 1024).toFixed(1);
      printLine(
        `people-notes: backed up ${database.path} to ${report.file}: ${report.pages.toLocaleString("en-US")} pages ` +
          `(${megabytes} MB, ${report.bytes.toLocaleString("en-US")} bytes), ` +
          `${inWords(report.counts, (n) => n.toLocaleString("en-US"))}; integrity check ok`,
      );
      return 0;
    } catch (error) {
      if (error instanceof BackupRefusedError || error instanceof BackupCheckError)
        throw new ConfigError(error.message);
      throw new ConfigError(`backup failed: ${failureLine(error)}`);
    }
  },
};

/** The arguments, or what is wrong with them ("help" when help was asked for). */
function parseBackupArgs(args: string[]): { file: string; force: boolean } | string {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (parsed.values.help) return "help";
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || file === "") return "FILE is required";
  if (extra.length > 0) return `one FILE only (got ${parsed.positionals.length})`;
  return { file, force: parsed.values.force };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
