import { resolve } from "node:path";

export type DatabaseConfig = { engine: "sqlite"; path: string } | { engine: "postgres"; url: string; schema?: string };

export interface Config {
  port: number;
  host: string;
  database: DatabaseConfig;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** `sqlite:./people.db`, `sqlite:/abs/path.db`, `sqlite::memory:` or `postgres://…` (also `postgresql://…`). */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseConfig {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") throw new ConfigError(`DATABASE_URL has no file path: ${url}`);
    return { engine: "sqlite", path: path === ":memory:" ? path : resolve(cwd, path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError("DATABASE_URL is not a valid postgres:// URL");
    }
    const schema = parsed.searchParams.get("schema") ?? undefined;
    parsed.searchParams.delete("schema");
    return schema ? { engine: "postgres", url: parsed.toString(), schema } : { engine: "postgres", url };
  }
  throw new ConfigError(`DATABASE_URL must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be a whole number from 0 to 65535 (got ${JSON.stringify(value)})`);
  }
  return port;
}

/** Reads the environment once; an invalid value stops the process with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(logLevel)})`);
  }
  return {
    port: parsePort(env.PORT ?? "5000"),
    host: env.HOST ?? "127.0.0.1",
    database: parseDatabaseUrl(env.DATABASE_URL ?? "sqlite:./people.db"),
    logLevel,
  };
}
