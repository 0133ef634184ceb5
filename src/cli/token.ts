import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { openStore, type Store } from "../db/database.js";
import { prepareDatabase } from "../db/setup.js";
import type { TokenRow } from "../db/tokens-repository.js";
import { ProblemError } from "../domain/errors.js";
import { TokenService } from "../domain/tokens.js";
import type { Command } from "./command.js";
import { io, printError, printLine } from "./io.js";

const CREATE_OPTIONS = `--admin | --person ID   an admin token, or a token for person ID only
--name NAME             what the token is for ("ops", "Doug's phone")
--expires WHEN          an ISO 8601 time, or a span from now: 30d, 12h (default: never)
The token is printed alone on standard output, once; only its hash is kept.`;

/** Runs `work` on the database named by DATABASE_URL, created, migrated and seeded as the server would. */
async function onTokens<T>(work: (tokens: TokenService) => Promise<T>): Promise<T> {
  const store: Store = openStore(loadConfig(io().env).database);
  try {
    await prepareDatabase(store);
    return await work(new TokenService(store));
  } finally {
    await store.close();
  }
}

export type Options = Record<string, { type: "string" | "boolean" }>;

export function parse(args: string[], options: Options, usage: string) {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    throw new ConfigError(`${error instanceof Error ? error.message : String(error)}\n\nUsage: ${usage}`);
  }
}

const SPAN = /^([1-9][0-9]{0,5})([dh])$/;

/** An expiry as the API stores it (ISO 8601 UTC, milliseconds), from a time or a span from now. */
export function expiryFrom(text: string, now = new Date()): string {
  const span = SPAN.exec(text);
  if (span) {
    const hours = Number(span[1]) * (span[2] === "d" ? 24 : 1);
    return new Date(now.getTime() + hours * 3_600_000).toISOString();
  }
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time)) {
    throw new ConfigError(
      `--expires must be an ISO 8601 time or a span such as 30d or 12h (got ${JSON.stringify(text)})`,
    );
  }
  if (time <= now.getTime()) throw new ConfigError(`--expires must be in the future (got ${text})`);
  return new Date(time).toISOString();
}

const CREATE_USAGE = "people-notes token create (--admin | --person ID) --name NAME [--expires WHEN]";

export const create: Command = {
  summary: "make a token and print it (alone, on standard output)",
  options: CREATE_OPTIONS,
  async run(args) {
    const { values, positionals } = parse(
      args,
      { admin: { type: "boolean" }, person: { type: "string" }, name: { type: "string" }, expires: { type: "string" } },
      CREATE_USAGE,
    );
    if (values.help) {
      printError(`Usage: ${CREATE_USAGE}\n${CREATE_OPTIONS}`);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`unexpected ${positionals.join(" ")}\n\nUsage: ${CREATE_USAGE}`);
    const admin = values.admin === true;
    const person = values.person as string | undefined;
    if (admin === (person !== undefined))
      throw new ConfigError(`give exactly one of --admin and --person ID\n\nUsage: ${CREATE_USAGE}`);
    if (person !== undefined && !/^[1-9][0-9]{0,15}$/.test(person)) {
      throw new ConfigError(`--person must be a person's id (got ${JSON.stringify(person)})`);
    }
    const name = (values.name as string | undefined)?.trim();
    if (!name) throw new ConfigError(`--name is required\n\nUsage: ${CREATE_USAGE}`);
    const expiresAt = values.expires === undefined ? undefined : expiryFrom(values.expires as string);
    const created = await onTokens(async (tokens) => {
      try {
        return await tokens.create({
          kind: admin ? "admin" : "person",
          name,
          ...(person !== undefined ? { personId: Number(person) } : {}),
          ...(expiresAt ? { expiresAt } : {}),
        });
      } catch (error) {
        if (error instanceof ProblemError) throw new ConfigError(error.detail);
        throw error;
      }
    });
    printLine(created.token);
    const whose = created.row.kind === "admin" ? "an admin token" : `a token for person ${created.row.person_id}`;
    printError(
      `people-notes: made ${whose}, id ${created.row.token_id}, prefix ${created.row.prefix}, named ${JSON.stringify(name)}` +
        `${expiresAt ? `, expiring ${expiresAt}` : ""}. It is shown this once: keep it now.`,
    );
    return 0;
  },
};

const state = (row: TokenRow, now: string) =>
  row.revoked_at ? "revoked" : row.expires_at && row.expires_at <= now ? "expired" : "usable";

export const list: Command = {
  summary: "list the tokens (never their secrets)",
  async run(args) {
    parse(args, {}, "people-notes token list");
    const rows = await onTokens((tokens) => tokens.list());
    const now = new Date().toISOString();
    const header = ["id", "prefix", "kind", "person", "state", "name", "created", "last used", "expires"];
    const table = rows.map((row) => [
      String(row.token_id),
      row.prefix,
      row.kind,
      row.person_id === null ? "-" : String(row.person_id),
      state(row, now),
      row.name,
      row.created_at,
      row.last_used_at ?? "-",
      row.expires_at ?? "-",
    ]);
    const widths = header.map((title, i) =>
      Math.max(title.length, ...table.map((cells) => (cells[i] as string).length)),
    );
    for (const cells of [header, ...table]) {
      printLine(cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join("  "));
    }
    if (rows.length === 0) printError("people-notes: there are no tokens");
    return 0;
  },
};

export const revoke: Command = {
  summary: "revoke token ID: refused at once, by every process",
  async run(args) {
    const { positionals } = parse(args, {}, "people-notes token revoke ID");
    const [id, ...extra] = positionals;
    if (id === undefined || extra.length > 0 || !/^[1-9][0-9]{0,15}$/.test(id)) {
      throw new ConfigError("give one token id (see `people-notes token list`)\n\nUsage: people-notes token revoke ID");
    }
    const revoked = await onTokens((tokens) => tokens.revoke(Number(id)));
    if (!revoked) throw new ConfigError(`there is no token ${id} that is not revoked already`);
    printLine(`people-notes: revoked token ${id}`);
    return 0;
  },
};
