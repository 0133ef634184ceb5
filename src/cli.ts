#!/usr/bin/env node
import type { Command } from "./cli/command.js";
import { printFailure } from "./cli/errors.js";
import { loadConfig } from "./config.js";
import type { DatabaseConfig } from "./db/settings.js";

/**
 * The commands, each loaded when it runs: a command imports only what it uses (the server's HTTP
 * stack, the import's validators, …), so a short command such as `token list` starts in a fraction
 * of the time (docs/benchmarks.md, "Start-up").
 */
const commands: Record<string, () => Promise<Command>> = {
  "db build": async () => (await import("./cli/db.js")).build,
  "db migrate": async () => (await import("./cli/db.js")).migrate,
  "db seed": async () => (await import("./cli/db.js")).seed,
  "db copy": async () => (await import("./cli/copy.js")).copy,
  "db backup": async () => (await import("./cli/backup.js")).backup,
  export: async () => (await import("./cli/export.js")).exportCommand,
  import: async () => (await import("./cli/import.js")).importCommand,
  "token create": async () => (await import("./cli/token.js")).create,
  "token list": async () => (await import("./cli/token.js")).list,
  "token revoke": async () => (await import("./cli/token.js")).revoke,
  "invite create": async () => (await import("./cli/accounts.js")).inviteCreate,
  "admin create": async () => (await import("./cli/accounts.js")).adminCreate,
  serve: async () => (await import("./cli/serve.js")).serve,
};

/** The usage text: every command with its summary and options (this loads them all). */
async function usage(): Promise<string> {
  const loaded = await Promise.all(Object.entries(commands).map(async ([name, load]) => [name, await load()] as const));
  const width = Math.max(...loaded.map(([name]) => name.length));
  const lines = loaded.map(([name, command]) => {
    const options = command.options ? `\n${command.options.replace(/^/gm, `    ${" ".repeat(width)}`)}` : "";
    return `  ${name.padEnd(width)}  ${command.summary}${options}`;
  });
  return `Usage: people-notes <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nThe database is DATABASE_URL (default sqlite:./people.db).`;
}

async function main(argv: string[]): Promise<number> {
  const found = Object.keys(commands)
    .filter((name) => name.split(" ").every((word, i) => argv[i] === word))
    .sort((a, b) => b.length - a.length)[0];
  const load = found ? commands[found] : undefined;
  if (!found || !load) {
    console.error(await usage());
    return argv.includes("--help") || argv.includes("-h") ? 0 : 2;
  }
  const command = await load();
  return command.run(argv.slice(found.split(" ").length));
}

/** The database a command works on (DATABASE_URL), to name it in a failure; `db copy` names its own. */
function configuredDatabase(argv: string[]): DatabaseConfig | undefined {
  if (argv[0] === "db" && argv[1] === "copy") return undefined;
  try {
    return loadConfig().database;
  } catch {
    return undefined;
  }
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    printFailure(error, { database: configuredDatabase(argv) });
    process.exitCode = 1;
  },
);
