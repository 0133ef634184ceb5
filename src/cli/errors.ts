import { inspect } from "node:util";
import { ConfigError } from "../config.js";
import { DatabaseUnavailableError, isLoginRefused, translate } from "../db/errors.js";
import type { DatabaseConfig } from "../db/settings.js";
import { io, printError } from "./io.js";

/**
 * What a command (or the server starting) prints when it cannot go on: one line saying what failed,
 * where, and what to do. The stack and the error's fields follow only at LOG_LEVEL=debug or trace.
 */
export function printFailure(error: unknown, context: FailureContext = {}, env: NodeJS.ProcessEnv = io().env): void {
  const line = `people-notes: ${failureMessage(error, context)}`;
  const debug = env.LOG_LEVEL === "debug" || env.LOG_LEVEL === "trace";
  printError(debug ? `${line}\n${inspect(error, { depth: 4 })}` : line);
}

export interface FailureContext {
  /** The database the command was using, named in the line when it cannot be reached. */
  database?: DatabaseConfig;
  /** Where that database was configured: DATABASE_URL unless said (`--from`, `--to`). */
  setting?: string;
  /** Which of two databases it is ("source", "target"). */
  role?: string;
  /** What a failure of any other kind is called: "failed" unless said ("could not start"). */
  failed?: string;
}

/** The line, without the `people-notes: ` it is printed after. */
export function failureMessage(error: unknown, context: FailureContext = {}): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof ListenError) return listenFailure(error);
  if (translate(error) instanceof DatabaseUnavailableError) return unreachable(error, context);
  if (isLoginRefused(error)) {
    const where = context.database ? ` at ${describeDatabase(context.database)}` : "";
    return `the database${where} refused the connection (${failureLine(error)}): check the user, password and database name in ${context.setting ?? "DATABASE_URL"}`;
  }
  return `${context.failed ?? "failed"}: ${failureLine(error)} (LOG_LEVEL=debug prints the stack)`;
}

/** "cannot reach the database at <where> (<why>): <what to do>" (a SQLite file: "cannot open"). */
export function unreachable(error: unknown, { database, setting = "DATABASE_URL", role }: FailureContext): string {
  const which = role ? `${role} database` : "database";
  const where = database ? ` at ${describeDatabase(database)}` : "";
  const todo =
    database?.engine === "sqlite"
      ? `check that ${setting} names a file this user may read and write`
      : `check that PostgreSQL is running there and that ${setting} is right`;
  const verb = database?.engine === "sqlite" ? "open" : "reach";
  return `cannot ${verb} the ${which}${where} (${causeLine(error)}): ${todo}`;
}

/** A database as an operator would name it, never with its password. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.engine === "sqlite") return database.path;
  try {
    const url = new URL(database.url);
    url.password = "";
    url.search = database.schema ? `?schema=${database.schema}` : "";
    return url.toString();
  } catch {
    return "the PostgreSQL server in the URL";
  }
}

/** The server could not listen on HOST:PORT; `cause` is Node's error, which says why. */
export class ListenError extends Error {
  override name = "ListenError";
  constructor(
    readonly host: string,
    readonly port: number,
    options: { cause: unknown },
  ) {
    super(`cannot listen on ${host}:${port}`, options);
  }
}

/** Why listening failed, in words, with what to do. */
function listenFailure(error: ListenError): string {
  const where = `cannot listen on ${error.host}:${error.port}`;
  switch ((error.cause as { code?: unknown } | undefined)?.code) {
    case "EADDRINUSE":
      return `${where}: another process is using that port; stop it, or choose another port with PORT=${error.port === 65535 ? error.port - 1 : error.port + 1}`;
    case "EACCES":
      return `${where}: permission denied (ports below 1024 need privileges); choose PORT=1024 or above`;
    case "EADDRNOTAVAIL":
      return `${where}: HOST is not an address of this machine; use one of its addresses, 127.0.0.1 or 0.0.0.0`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${where}: no such host name; set HOST to an address of this machine, 127.0.0.1 or 0.0.0.0`;
    default:
      return `${where}: ${failureLine(error.cause)}`;
  }
}

/** One line for an operator: what failed, in the engine's own words where they help. */
export function failureLine(error: unknown): string {
  const translated = translate(error);
  if (translated instanceof DatabaseUnavailableError) {
    const cause = causeText(translated.cause);
    return oneLine(cause ? `${translated.message} (${cause})` : translated.message);
  }
  return oneLine(causeText(translated) || String(translated));
}

/** The words of the engine's own error under a translated one (`connect ECONNREFUSED 127.0.0.1:5432`). */
function causeLine(error: unknown): string {
  const translated = translate(error);
  const cause = translated instanceof DatabaseUnavailableError ? translated.cause : translated;
  return oneLine(causeText(cause) || causeText(translated) || "no answer");
}

function causeText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(causeText))].join("; ");
  }
  if (error instanceof DatabaseUnavailableError && error.cause !== undefined) return causeText(error.cause);
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return error === undefined ? "" : String(error);
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();
