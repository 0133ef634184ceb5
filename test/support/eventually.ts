import { setTimeout as sleep } from "node:timers/promises";
import { WAIT_LIMIT_MS } from "./limits.js";

/**
 * Reads every 20 ms until what it reads holds, and gives that back; fails after `ms`, naming what
 * was awaited and the last value read. For state that no event announces.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  holds: (value: T) => boolean,
  what: string,
  ms = WAIT_LIMIT_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}
