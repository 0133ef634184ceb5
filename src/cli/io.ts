import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Where a command writes and which environment it reads: the process's own, unless a caller runs
 * the command with others (`withIo`), as the tests do to run a command without starting a process.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const given = new AsyncLocalStorage<CliIo>();

/** The streams and environment of the command that is running. */
export function io(): CliIo {
  return given.getStore() ?? { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Runs `work` (a command) with these streams and this environment in place of the process's. */
export function withIo<T>(streams: CliIo, work: () => Promise<T>): Promise<T> {
  return given.run(streams, work);
}

/** A line on standard output. */
export const printLine = (line: string): void => {
  io().stdout.write(`${line}\n`);
};

/** A line on standard error. */
export const printError = (line: string): void => {
  io().stderr.write(`${line}\n`);
};
