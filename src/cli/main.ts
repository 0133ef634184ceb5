import { loadConfig } from "../config.js";
import type { DatabaseConfig } from "../db/settings.js";
import type { Command } from "./command.js";
import { printFailure } from "./errors.js";
import { io, printError } from "./io.js";

/**
 * The commands, each loaded when it runs: a command imports only what it uses (the server's HTTP
 * stack, the import's validators, …), so a short command such as `token list` starts in a fraction
 * of the time (docs/benchmarks.md, "Start-up").
 */
const commands: Record<string, () => Promise<Command>> = {
  "db build": async () => (await import("./db.js")).build,
  "db migrate": async () => (await import("./db.js")).migrate,
  "db seed": async () => (await import("./db.js")).seed,
  "db copy": async () => (await import("./copy.js")).copy,
  "db backup": async () => (await import("./backup.js")).backup,
  export: async () => (await import("./export.js")).exportCommand,
  import: async () => (await import("./import.js")).importCommand,
  "token create": async () => (await import("./token.js")).create,
  "token list": async () => (await import("./token.js")).list,
  "token revoke": async () => (await import("./token.js")).revoke,
  "invite create": async () => (await import("./accounts.js")).inviteCreate,
  "admin create": async () => (await import("./accounts.js")).adminCreate,
  serve: async () => (await import("./serve.js")).serve,
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

async function dispatch(argv: string[]): Promise<number> {
  const found = Object.keys(commands)
    .filter((name) => name.split(" ").every((word, i) => argv[i] === word))
    .sort((a, b) => b.length - a.length)[0];
  const load = found ? commands[found] : undefined;
  if (!found || !load) {
    printError(await usage());
    return argv.includes("--help") || argv.includes("-h") ? 0 : 2;
  }
  const command = await load();
  return command.run(argv.slice(found.split(" ").length));
}

/** The database a command works on (DATABASE_URL), to name it in a failure; `db copy` names its own. */
function configuredDatabase(argv: string[]): DatabaseConfig | undefined {
  if (argv[0] === "db" && argv[1] === "copy") return undefined;
  try {
    return loadConfig(io().env).database;
  } catch {
    return undefined;
  }
}

/**
 * Runs `people-notes ARGV…` and returns its exit code; a failure is printed as one line (the
 * process's streams and environment unless run `withIo`).
 */
export async function runCommandLine(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    printFailure(error, { database: configuredDatabase(argv) });
    return 1;
  }
}
