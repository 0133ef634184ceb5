#!/usr/bin/env node
import { backup } from "./cli/backup.js";
import type { Command } from "./cli/command.js";
import { copy } from "./cli/copy.js";
import * as db from "./cli/db.js";
import { printFailure } from "./cli/errors.js";
import { exportCommand } from "./cli/export.js";
import { importCommand } from "./cli/import.js";
import { serve } from "./cli/serve.js";
import * as token from "./cli/token.js";
import { loadConfig } from "./config.js";
import type { DatabaseConfig } from "./db/database.js";

const commands: Record<string, Command> = {
  "db build": db.build,
  "db migrate": db.migrate,
  "db seed": db.seed,
  "db copy": copy,
  "db backup": backup,
  export: exportCommand,
  import: importCommand,
  "token create": token.create,
  "token list": token.list,
  "token revoke": token.revoke,
  serve: serve,
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) => {
    const options = command.options ? `\n${command.options.replace(/^/gm, `    ${" ".repeat(width)}`)}` : "";
    return `  ${name.padEnd(width)}  ${command.summary}${options}`;
  });
  return `Usage: people-notes <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nThe database is DATABASE_URL (default sqlite:./people.db).`;
}

async function main(argv: string[]): Promise<number> {
  const found = Object.keys(commands)
    .filter((name) => name.split(" ").every((word, i) => argv[i] === word))
    .sort((a, b) => b.length - a.length)[0];
  const command = found ? commands[found] : undefined;
  if (!found || !command) {
    console.error(usage());
    return argv.includes("--help") || argv.includes("-h") ? 0 : 2;
  }
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
