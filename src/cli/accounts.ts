import { ConfigError, listeningUrl, loadConfig } from "../config.js";
import { openStore, type Store } from "../db/database.js";
import { prepareDatabase } from "../db/setup.js";
import { AccountService, type CreatedInvite } from "../domain/accounts.js";
import { ProblemError } from "../domain/errors.js";
import type { Command } from "./command.js";
import { io, printError, printLine } from "./io.js";
import { expiryFrom, parse } from "./token.js";

const DAY_MS = 86_400_000;
/** Invites are short-lived: a link that is not used within a month is better made again. */
const MAX_INVITE_DAYS = 30;

/**
 * Runs `work` on the database named by DATABASE_URL, created, migrated and seeded as the server
 * would; `base` is where links point: PUBLIC_URL, else the address the server listens on.
 */
async function onAccounts<T>(work: (accounts: AccountService, base: string) => Promise<T>): Promise<T> {
  const config = loadConfig(io().env);
  const store: Store = openStore(config.database);
  try {
    await prepareDatabase(store);
    const accounts = new AccountService(store, undefined, config.accounts);
    return await work(accounts, config.accounts.publicUrl ?? listeningUrl(config.host, config.port));
  } catch (error) {
    if (error instanceof ProblemError) throw new ConfigError(error.detail);
    throw error;
  } finally {
    await store.close();
  }
}

/** Days from now to `--expires` (a span such as 7d or 12h, or a time), at most a month. */
function daysUntil(expires: string | undefined): number {
  if (expires === undefined) return 7;
  const now = new Date();
  const days = (Date.parse(expiryFrom(expires, now)) - now.getTime()) / DAY_MS;
  if (days > MAX_INVITE_DAYS) throw new ConfigError(`--expires must be at most ${MAX_INVITE_DAYS} days from now`);
  return days;
}

/** The link alone on standard output (for scripts), what it is for on standard error. */
function printInvite(created: CreatedInvite, what: string): void {
  printLine(created.link);
  printError(
    `people-notes: ${what}: the link above lets ${JSON.stringify(created.account.name)} ` +
      `${created.invite.kind === "reset" ? "replace their passkeys and password" : "set a passkey or a password"} once, until ${created.invite.expires_at}. ` +
      "It is shown this once: pass it on now.",
  );
}

const INVITE_USAGE = "people-notes invite create --person ID [--expires WHEN] [--reset]";
const INVITE_OPTIONS = `--person ID             the person the invite is for (their account is named after them)
--expires WHEN          a span from now (7d, 12h) or an ISO 8601 time, at most 30 days (default: 7d)
--reset                 replace the account's password and passkeys and end its sessions when used
The link is printed alone on standard output, once; only a hash of its code is kept.`;

export const inviteCreate: Command = {
  summary: "make a one-time link for a person to set up (or --reset) their account, and print it",
  options: INVITE_OPTIONS,
  async run(args) {
    const { values, positionals } = parse(
      args,
      { person: { type: "string" }, expires: { type: "string" }, reset: { type: "boolean" } },
      INVITE_USAGE,
    );
    if (values.help) {
      printError(`Usage: ${INVITE_USAGE}\n${INVITE_OPTIONS}`);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected ${positionals.join(" ")}\n\nUsage: ${INVITE_USAGE}`);
    const person = values.person as string | undefined;
    if (person === undefined) throw new ConfigError(`--person is required\n\nUsage: ${INVITE_USAGE}`);
    if (!/^[1-9][0-9]{0,15}$/.test(person)) {
      throw new ConfigError(`--person must be a person's id (got ${JSON.stringify(person)})`);
    }
    const days = daysUntil(values.expires as string | undefined);
    const kind = values.reset === true ? "reset" : "setup";
    const created = await onAccounts((accounts, base) =>
      accounts.invite({ kind: "admin" }, Number(person), kind, days, base),
    );
    printInvite(created, `made a ${kind} invite for person ${person}`);
    return 0;
  },
};

const ADMIN_USAGE = "people-notes admin create --name NAME [--expires WHEN]";
const ADMIN_OPTIONS = `--name NAME             the name the admin signs in with ("ops")
--expires WHEN          how long the setup link works: a span (7d, 12h) or a time, at most 30 days (default: 7d)
The one-time setup link is printed alone on standard output.`;

export const adminCreate: Command = {
  summary: "make an admin account and print its one-time setup link",
  options: ADMIN_OPTIONS,
  async run(args) {
    const { values, positionals } = parse(args, { name: { type: "string" }, expires: { type: "string" } }, ADMIN_USAGE);
    if (values.help) {
      printError(`Usage: ${ADMIN_USAGE}\n${ADMIN_OPTIONS}`);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected ${positionals.join(" ")}\n\nUsage: ${ADMIN_USAGE}`);
    const name = (values.name as string | undefined)?.trim().replace(/\s+/g, " ");
    if (!name) throw new ConfigError(`--name is required\n\nUsage: ${ADMIN_USAGE}`);
    if (name.length > 65 || /\p{Cc}/u.test(name)) {
      throw new ConfigError("--name must be at most 65 characters, without control characters");
    }
    const days = daysUntil(values.expires as string | undefined);
    const created = await onAccounts((accounts, base) => accounts.createAdmin(name, days, base));
    printInvite(created, `made the admin account ${JSON.stringify(name)}`);
    return 0;
  },
};
