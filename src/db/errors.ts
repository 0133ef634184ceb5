/**
 * What a database failure means, in words the layers above understand. The engines' own codes and
 * messages are read here and nowhere else.
 */

/** The database cannot serve the request now (unreachable, too slow, locked); trying later may work. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  /** How long a client should wait before trying again. */
  readonly retryAfterSeconds = 1;
  /**
   * The connection was lost after a change was sent to be committed and before the database said
   * whether it was: the change may have been made. Otherwise a failed change was not made.
   */
  readonly outcomeUnknown: boolean;

  constructor(message: string, options: { cause?: unknown; outcomeUnknown?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

/** The same failure, for a change whose commit was sent when the connection was lost. */
export function outcomeUnknown(error: unknown): unknown {
  if (!(error instanceof DatabaseUnavailableError) || !isConnectionBroken(error.cause)) return error;
  return new DatabaseUnavailableError("the connection was lost before the database confirmed the change", {
    cause: error.cause,
    outcomeUnknown: true,
  });
}

/** The disk (or the database's size limit) is full: writes fail until an operator makes room. */
export class DatabaseFullError extends Error {
  override name = "DatabaseFullError";
}

/** A row was refused by a constraint; `constraint` names it the same way on both engines. */
export class ConstraintViolation extends Error {
  override name = "ConstraintViolation";
  constructor(
    readonly kind: "unique" | "foreign-key",
    readonly constraint: string,
    options: { cause: unknown },
  ) {
    super(`${kind} constraint ${constraint} refused the row`, options);
  }
}

/** SQLite names a unique constraint by its columns; these are the names PostgreSQL gives the same ones. */
const SQLITE_UNIQUE_NAMES: Record<string, string> = {
  "person.fname_key, person.lname_key": "person_name_unique",
  "person.person_id": "person_pkey",
  "note.note_id": "note_pkey",
};

const PG_UNAVAILABLE = /^(08|53|57)|^(40001|40P01|55P03|57014)$/;
const PG_FULL = "53100";
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const PG_CLIENT_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|not queryable|Cannot use a pool after calling end|connection error|Client was closed/i;

function describe(error: unknown): { code: string; message: string } {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return { code: typeof code === "string" ? code : "", message: typeof message === "string" ? message : "" };
}

/** True when the connection the error came from cannot be trusted with another query. */
export function isConnectionBroken(error: unknown): boolean {
  const { code, message } = describe(error);
  return NETWORK_CODES.has(code) || /^(08|57P)/.test(code) || PG_CLIENT_MESSAGES.test(message);
}

/** Waiting for a free pooled connection, or a pool closed already: nothing about the server. */
const NOT_THE_SERVER = /timeout exceeded when trying to connect|Cannot use a pool after calling end/i;

/**
 * A new connection could not be made: refused, reset, unresolvable, or not made within the connect
 * timeout; or the server said it cannot take connections now.
 */
export function isConnectFailure(error: unknown): boolean {
  return !NOT_THE_SERVER.test(describe(error).message) && isConnectionBroken(error);
}

/**
 * A connection cut while it was being opened: the server was reached, so this shows one lost
 * connection, not an unreachable server (a refusal or a time-out does).
 */
export function isCutWhileConnecting(error: unknown): boolean {
  const { code, message } = describe(error);
  return code === "ECONNRESET" || code === "EPIPE" || /terminated unexpectedly|ECONNRESET|EPIPE/i.test(message);
}

/**
 * The server answered, but would not let this connection in: an unknown user, a wrong password,
 * a database that does not exist. Trying again will not help; the settings must change.
 */
export function isLoginRefused(error: unknown): boolean {
  const { code } = describe(error);
  return code.startsWith("28") || code === "3D000";
}

/** A statement on an open connection got no answer at all by the client's own deadline. */
export function isUnanswered(error: unknown): boolean {
  return /Query read timeout/i.test(describe(error).message);
}

/** Turns an engine's error into one of the errors above; anything else is returned as it is. */
export function translate(error: unknown): unknown {
  if (
    error instanceof DatabaseUnavailableError ||
    error instanceof DatabaseFullError ||
    error instanceof ConstraintViolation
  ) {
    return error;
  }
  const { code, message } = describe(error);
  const options = { cause: error };
  if (code === "SQLITE_FULL" || code === PG_FULL)
    return new DatabaseFullError("the database's storage is full", options);
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    const columns = message.replace(/^UNIQUE constraint failed: /, "");
    return new ConstraintViolation("unique", SQLITE_UNIQUE_NAMES[columns] ?? columns, options);
  }
  if (code === "SQLITE_CONSTRAINT_FOREIGNKEY") return new ConstraintViolation("foreign-key", "foreign key", options);
  if (code === "23505" || code === "23503") {
    const constraint = (error as { constraint?: string }).constraint ?? "unknown";
    return new ConstraintViolation(code === "23505" ? "unique" : "foreign-key", constraint, options);
  }
  if (
    isBusy(error) ||
    code.startsWith("SQLITE_LOCKED") ||
    code.startsWith("SQLITE_IOERR") ||
    code === "SQLITE_CANTOPEN" ||
    PG_UNAVAILABLE.test(code) ||
    isConnectionBroken(error) ||
    /database connection is not open/.test(message)
  ) {
    return new DatabaseUnavailableError("the database is busy or unreachable", options);
  }
  return error;
}

/** SQLite's "another connection holds the lock": worth waiting for, without blocking the process. */
export function isBusy(error: unknown): boolean {
  return describe(error).code.startsWith("SQLITE_BUSY");
}

/** True for a unique violation, raw from an engine or already translated. */
export function isUniqueViolation(error: unknown): boolean {
  const translated = translate(error);
  return translated instanceof ConstraintViolation && translated.kind === "unique";
}

/** True for a foreign-key violation, raw from an engine or already translated. */
export function isForeignKeyViolation(error: unknown): boolean {
  const translated = translate(error);
  return translated instanceof ConstraintViolation && translated.kind === "foreign-key";
}
