import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, parseDatabaseUrl } from "../config.js";
import { openStore, type Store } from "../db/database.js";
import { type DatabaseConfig, type DatabaseLimits, DEFAULT_DATABASE_LIMITS } from "../db/settings.js";
import {
  type CopyProgress,
  type CopyReport,
  copyDatabase,
  DEFAULT_BATCH_ROWS,
  TargetNotEmptyError,
} from "../db/transfer/copy.js";
import { inCommas, inWords, type Plural, TRANSFERRED, totalOf } from "../db/transfer/tables.js";
import type { Command } from "./command.js";
import { failureLine, unreachable } from "./errors.js";
import { io, printError, printLine } from "./io.js";
import { number, progressDisplay } from "./progress.js";

const OPTIONS = `--from URL        the database to copy from (sqlite:<path> or postgres://…[?schema=name]); only read
--to URL          the database to copy into; migrated to the latest schema first
--replace         replace the people and notes the target has (a non-empty target is refused otherwise)
--with-tokens     copy the tokens too, in place of the target's own (with --replace if it has any);
                  without it tokens stay behind, and a copy without tokens has access control off
--no-history      leave note history (the kept versions) and the trash behind; with --replace,
                  the target's own are cleared all the same
--batch-rows N    rows read per query (default ${DEFAULT_BATCH_ROWS})
All or nothing: the copy runs in one transaction on the target, so a copy that fails or is
interrupted (even killed) leaves the target's people and notes as they were. Ids, versions and
timestamps are kept; counts and a SHA-256 checksum of every row are compared before it commits.`;

export const copy: Command = {
  summary: "copy every person and note, with history and the trash, from one database to another (SQLite ⇄ PostgreSQL)",
  options: OPTIONS,
  async run(args) {
    const parsed = parseCopyArgs(args);
    if (typeof parsed === "string") {
      printError(`people-notes db copy: ${parsed}\n\nOptions:\n${OPTIONS}`);
      return parsed === "help" ? 0 : 2;
    }
    const limits = databaseLimits();
    const from = urlOption("--from", parsed.from);
    const to = urlOption("--to", parsed.to);
    if (sameDatabase(from, to)) throw new ConfigError("--from and --to name the same database");
    if (from.engine === "sqlite" && from.path !== ":memory:" && !existsSync(from.path)) {
      throw new ConfigError(`there is no SQLite database at ${from.path}`);
    }
    const started = performance.now();
    const report = await withStore({ ...from, limits }, { role: "source", setting: "--from" }, (source) =>
      withStore({ ...to, limits }, { role: "target", setting: "--to" }, (target) =>
        copyWithProgress(source, target, parsed),
      ),
    );
    printLine(`people-notes: ${summaryLine(report, (performance.now() - started) / 1000)}`);
    const warning = tokensLeftBehind(report);
    if (warning) printError(`people-notes: ${warning}`);
    return 0;
  },
};

interface CopyArgs {
  from: string;
  to: string;
  replace: boolean;
  withTokens: boolean;
  history: boolean;
  batchRows: number;
}

/** The arguments, or what is wrong with them ("help" when help was asked for). */
function parseCopyArgs(args: string[]): CopyArgs | string {
  let values: { [name: string]: string | boolean | undefined };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        replace: { type: "boolean", default: false },
        "with-tokens": { type: "boolean", default: false },
        "no-history": { type: "boolean", default: false },
        "batch-rows": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (values.help) return "help";
  const { from, to } = values;
  if (typeof from !== "string" || typeof to !== "string") return "--from URL and --to URL are both required";
  const batchRows = Number(values["batch-rows"] ?? DEFAULT_BATCH_ROWS);
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000) {
    return "--batch-rows must be a whole number from 1 to 100000";
  }
  return {
    from,
    to,
    replace: values.replace === true,
    withTokens: values["with-tokens"] === true,
    history: values["no-history"] !== true,
    batchRows,
  };
}

function urlOption(name: string, url: string): DatabaseConfig {
  try {
    return parseDatabaseUrl(url);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.message.replace(/DATABASE_URL/g, name));
    throw error;
  }
}

/** The deadlines from the environment (DB_*_TIMEOUT_MS); DATABASE_URL plays no part in a copy. */
export function databaseLimits(): DatabaseLimits {
  const { limits } = loadConfig({ ...io().env, DATABASE_URL: undefined }).database;
  return { ...DEFAULT_DATABASE_LIMITS, ...limits };
}

function sameDatabase(a: DatabaseConfig, b: DatabaseConfig): boolean {
  if (a.engine === "sqlite" && b.engine === "sqlite") return a.path === b.path && a.path !== ":memory:";
  if (a.engine === "postgres" && b.engine === "postgres") {
    return new URL(a.url).toString() === new URL(b.url).toString() && (a.schema ?? "") === (b.schema ?? "");
  }
  return false;
}

/**
 * Opens a store, makes sure it answers, runs `work` and closes it; an unreachable database is one
 * line naming it and the setting (`--from`, DATABASE_URL…) it came from.
 */
export async function withStore<T>(
  config: DatabaseConfig,
  named: { role?: string; setting: string },
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = openStore(config);
  try {
    try {
      await store.ping();
    } catch (error) {
      throw new ConfigError(unreachable(error, { database: config, ...named }), { cause: error });
    }
    return await work(store);
  } finally {
    await store.close();
  }
}

async function copyWithProgress(source: Store, target: Store, args: CopyArgs): Promise<CopyReport> {
  const display = progressDisplay(io().stderr, PHASES);
  try {
    return await copyDatabase(source, target, {
      replace: args.replace,
      withTokens: args.withTokens,
      history: args.history,
      batchRows: args.batchRows,
      onProgress: (progress) => display.update(progress),
    });
  } catch (error) {
    display.stop();
    const line = failureLine(error);
    if (error instanceof TargetNotEmptyError) {
      throw new ConfigError(`${line}; pass --replace to replace them`);
    }
    throw new ConfigError(`copy failed, the target is unchanged: ${line}`);
  } finally {
    display.stop();
  }
}

/**
 * Tokens stay behind unless asked for. When the source had access control on (a usable token) and
 * the target ends with none, a server on the target would let anyone write on loopback: say so.
 */
function tokensLeftBehind({ tokens }: CopyReport): string | undefined {
  if (tokens.copied > 0 || tokens.usableOnSource === 0 || tokens.usableOnTarget > 0) return undefined;
  const which =
    tokens.usableOnSource === 1 ? "1 usable token was" : `${number(tokens.usableOnSource)} usable tokens were`;
  return (
    `the source's ${which} not copied and the target has none: a server on it answers access_control: false, ` +
    "letting anyone write on loopback (and beyond loopback refuses to start without an admin token); " +
    "copy them with --with-tokens, or make new ones with people-notes token create"
  );
}

function summaryLine({ source, target, replaced, migrated, tokens }: CopyReport, seconds: number): string {
  const rows = totalOf(source);
  const time = ` in ${seconds.toFixed(1)} s (${number(Math.round(rows / Math.max(seconds, 0.001)))} rows/s)`;
  const before = [
    migrated.length > 0 ? `migrated the target (${migrated.join(", ")})` : "",
    totalOf(replaced) > 0 ? `replaced its ${inWords(replaced, number)}` : "",
  ].filter(Boolean);
  return [
    `copied ${inWords(source, number)}${time}`,
    ...before,
    ...(tokens.copied > 0 ? [`copied ${number(tokens.copied)} token${tokens.copied === 1 ? "" : "s"}`] : []),
    `verified: ${inCommas(target, number)}, sha256 ${target.checksum} on source and target`,
  ].join("; ");
}

const PHASES: Record<CopyProgress["phase"], string> = {
  clearing: "clearing the target",
  ...(Object.fromEntries(
    TRANSFERRED.map(({ plural }) => [plural, `copying ${plural === "trash" ? "the trash" : plural}`]),
  ) as Record<Plural, string>),
  verifying: "verifying",
};
