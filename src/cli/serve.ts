import { parseArgs } from "node:util";
import { ConfigError, loadConfig, parseWorkers } from "../config.js";
import { serveOrExit } from "../service.js";
import type { Command } from "./command.js";

export const serve: Command = {
  summary: "serve the API and the web app (PORT, HOST, DATABASE_URL, … from the environment)",
  options: "--workers N|auto  server processes sharing the port (default WORKERS, else 1; auto: one per core)",
  async run(args) {
    let workers: string | undefined;
    try {
      ({ workers } = parseArgs({ args, options: { workers: { type: "string" } } }).values);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (workers !== undefined) parseWorkers(workers, "--workers");
    await serveOrExit(() => loadConfig(workers === undefined ? process.env : { ...process.env, WORKERS: workers }));
    return 0;
  },
};
