import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type pgTypes from "pg";
import type { StoreLog } from "../log.js";
import { pg } from "../pg.js";

/**
 * How the processes on one database tell each other that changes committed. A signal carries no
 * data: whoever hears it reads the change feed from where it last was, so a signal lost (or two
 * merged into one) only delays what the feed would have shown anyway.
 */
export interface ChangeSignals {
  /** Whether signals reach other processes; without them the feed reads the table on a timer. */
  readonly crossProcess: boolean;
  /**
   * Calls `heard` on every signal, and after every (re)connection, when signals may have been
   * missed. Until closed, a lost connection is re-established with backoff.
   */
  listen(heard: () => void): { close(): Promise<void> };
  /** Tells every listening process (this one too) that changes committed; never throws. */
  announce(): void;
}

/** SQLite: processes cannot signal one another; the feed polls the table. */
export const NO_SIGNALS: ChangeSignals = {
  crossProcess: false,
  listen: () => ({ close: async () => {} }),
  announce: () => {},
};

export interface PostgresSignalOptions {
  url: string;
  schema?: string;
  connectTimeoutMs: number;
  /** Runs `select pg_notify($1, '')` on the service's pool. */
  notify(channel: string): Promise<unknown>;
  log: StoreLog;
}

const RECONNECT_MS = { first: 100, most: 2000 };
/** A listening connection that stopped answering is noticed within about this long. */
const HEALTH_CHECK_MS = 5000;
const CLOSE_TIMEOUT_MS = 1000;

/** One channel per schema, so services sharing a database only hear their own changes. */
export function channelFor(schema: string | undefined): string {
  const digest = createHash("sha256")
    .update(schema ?? "")
    .digest("hex")
    .slice(0, 16);
  return `people_notes_${digest}`;
}

/**
 * PostgreSQL LISTEN/NOTIFY: one connection of its own per process listens; announcements go over
 * the pool after the commit, at most one in flight (later ones fold into one more), so a burst of
 * writes costs a few notifications, and a write never waits for one.
 */
export function postgresSignals(options: PostgresSignalOptions): ChangeSignals {
  const channel = channelFor(options.schema);
  let sending = false;
  let pending = false;
  const send = () => {
    sending = true;
    pending = false;
    options
      .notify(channel)
      .catch(() => {})
      .finally(() => {
        sending = false;
        if (pending) send();
      });
  };
  return {
    crossProcess: true,
    announce() {
      if (sending) pending = true;
      else send();
    },
    listen: (heard) => listenOn(channel, options, heard),
  };
}

function listenOn(channel: string, options: PostgresSignalOptions, heard: () => void): { close(): Promise<void> } {
  const closed = new AbortController();
  let reported = false;
  const done = (async () => {
    let wait = RECONNECT_MS.first;
    while (!closed.signal.aborted) {
      const client = new (pg().Client)({
        connectionString: options.url,
        connectionTimeoutMillis: options.connectTimeoutMs,
        keepAlive: true,
      });
      const lost = new Promise<void>((resolve) => {
        client.on("error", () => resolve());
        client.on("end", () => resolve());
      });
      client.on("notification", () => heard());
      try {
        await client.connect();
        // The channel is made of fixed letters and hex digits only (channelFor).
        await client.query(`listen ${channel}`);
        wait = RECONNECT_MS.first;
        if (reported) options.log.warn({ channel }, "listening for changes again");
        reported = false;
        heard();
        await untilLost(client, lost, closed.signal, options.connectTimeoutMs);
      } catch (error) {
        if (!reported && !closed.signal.aborted) {
          reported = true;
          options.log.warn({ err: error }, "lost the connection that listens for changes; reconnecting");
        }
      } finally {
        await Promise.race([client.end().catch(() => {}), sleep(CLOSE_TIMEOUT_MS, undefined, { ref: false })]);
      }
      if (closed.signal.aborted) break;
      await sleep(wait, undefined, { signal: closed.signal, ref: false }).catch(() => {});
      wait = Math.min(wait * 2, RECONNECT_MS.most);
    }
  })();
  return {
    async close() {
      closed.abort();
      await done;
    },
  };
}

/** Resolves when the connection is lost (or the listener closed); rejects when a health check fails. */
async function untilLost(client: pgTypes.Client, lost: Promise<void>, closed: AbortSignal, timeoutMs: number) {
  if (closed.aborted) return;
  const aborted = new Promise<void>((resolve) => closed.addEventListener("abort", () => resolve(), { once: true }));
  for (;;) {
    const tick = sleep(HEALTH_CHECK_MS, "tick" as const, { ref: false });
    const what = await Promise.race([lost.then(() => "lost" as const), aborted.then(() => "closed" as const), tick]);
    if (what !== "tick") {
      if (what === "lost") throw new Error("the listening connection closed");
      return;
    }
    await client.query({ text: "select 1", query_timeout: timeoutMs } as pgTypes.QueryConfig);
  }
}
