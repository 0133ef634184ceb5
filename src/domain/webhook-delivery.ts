import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { prunedThrough } from "../db/changes/repository.js";
import { DatabaseUnavailableError } from "../db/errors.js";
import type { UnitOfWork } from "../db/executor.js";
import type { StoreLog } from "../db/log.js";
import {
  advanceWebhook,
  changesFor,
  dueWebhooks,
  enabledWebhooks,
  leaseWebhook,
  logDelivery,
  recordWebhookFailure,
  releaseWebhook,
  type WebhookChange,
  type WebhookRow,
} from "../db/webhooks-repository.js";
import type { ChangeFeed, Subscription } from "./changes.js";
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from "./settings.js";
import { post } from "./webhook-requests.js";

/** Read of an answer's body at most; the rest is never read. */
export const MAX_RESPONSE_BYTES = 4096;
/** Changes sent to one endpoint before its lease is given up for a turn, so others get theirs. */
const SENDS_PER_TURN = 100;
/** Changes read at once while looking for the next one an endpoint asks for. */
const SCAN_BATCH = 500;
/** Batches looked through in one go before the position is saved and the search goes on. */
const SCAN_BATCHES = 20;

/** The lease outlives an attempt by this on both sides: the holder stops that long before it ends. */
const leaseMarginMs = (settings: WebhookSettings) => Math.max(1_000, Math.min(5_000, settings.timeoutMs));
export const leaseMs = (settings: WebhookSettings) => settings.timeoutMs + 2 * leaseMarginMs(settings);

/** `msg_<webhook>_<revision>`: the same for every attempt at one change (Standard Webhooks' `webhook-id`). */
export const messageId = (webhookId: number, revision: number) => `msg_${webhookId}_${revision}`;

/** The body of a delivery: the contract's `WebhookPayload`, the resource as recorded. */
export function payloadOf(change: WebhookChange): string {
  const kind = JSON.stringify(change.kind);
  return (
    `{"type":${kind},"timestamp":${JSON.stringify(change.recorded_at)},"data":{"revision":${change.revision},` +
    `"kind":${kind},"person_id":${change.person_id},"resource_id":${change.resource_id},"resource":${change.data}}}`
  );
}

/** `webhook-signature`: the current secret's, and the previous one's while its overlap lasts. */
export function signatureOf(row: WebhookRow, id: string, at: Date, body: string): string {
  const signatures = [new Webhook(row.secret).sign(id, at, body)];
  if (row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > at.toISOString()) {
    signatures.push(new Webhook(row.previous_secret).sign(id, at, body));
  }
  return signatures.join(" ");
}

/** The pause before retry number `attempts` (1: after the first failure): doubling, capped, half of it random. */
export function backoffMs(settings: WebhookSettings, attempts: number, random: () => number = Math.random): number {
  const full = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(full / 2 + (random() * full) / 2);
}

export const wantsChange = (row: Pick<WebhookRow, "events" | "person_id">, change: WebhookChange): boolean =>
  (row.person_id === null || row.person_id === change.person_id) &&
  (JSON.parse(row.events) as string[]).includes(change.kind);

/**
 * Sends each endpoint the changes it asks for, in revision order, at least once. Every process
 * runs one; an endpoint's position and retries live in its row, and a lease on the row (on the
 * database's clock) lets one process at a time deliver for it. It reads only changes up to where
 * this process's change feed stands, so a change still committing on PostgreSQL (a gap in the
 * revisions) is never passed over.
 */
export class WebhookDelivery {
  readonly #owner = randomUUID();
  #settled = 0;
  #subscription: Subscription | undefined;
  readonly #running = new Map<number, Promise<void>>();
  #scanning: Promise<void> | undefined;
  #scanAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /**
   * Whether the last look found an enabled endpoint (until there has been one, assume so). Only
   * then does a change committed wake the delivery: with none, a write costs it nothing, and an
   * endpoint added or enabled by another process is found by the next poll, within `pollMs` (the
   * process that added it is woken at once, as is this one for its own). A change committed while
   * a scan runs always makes it look again: that scan may be the one that finds the first endpoint.
   */
  #anyEnabled = true;
  readonly #stopped = new AbortController();
  #started: Promise<void> | undefined;
  #reported = false;

  constructor(
    private readonly store: UnitOfWork,
    private readonly feed: ChangeFeed,
    private readonly log: StoreLog,
    private readonly settings: WebhookSettings = DEFAULT_WEBHOOK_SETTINGS,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Follows the feed and looks for work every `pollMs`; a database away at first is tried again. */
  start(): void {
    this.#started ??= this.#run();
  }

  async #run(): Promise<void> {
    const signal = this.#stopped.signal;
    while (!signal.aborted && this.#subscription === undefined) {
      try {
        const subscription = await this.feed.subscribe(undefined, (events, reload) => {
          const last = reload?.revision ?? events.at(-1)?.revision;
          if (last !== undefined) this.#settled = Math.max(this.#settled, last);
          // While a scan runs, its look may be about to find the first endpoint: mark it to look again.
          if (this.#anyEnabled || this.#scanning !== undefined) this.kick();
        });
        if (signal.aborted) subscription.close();
        else this.#subscription = subscription;
        this.#settled = Math.max(this.#settled, subscription.revision);
      } catch (error) {
        this.#report(error);
        await sleep(this.settings.pollMs, undefined, { signal, ref: false }).catch(() => {});
      }
    }
    while (!signal.aborted) {
      this.kick();
      try {
        await sleep(this.settings.pollMs, undefined, { signal, ref: false });
      } catch {
        return;
      }
    }
  }

  /** Stops looking for work and ends the attempts in flight; their changes are sent again later, by whoever comes next. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    clearTimeout(this.#retryTimer);
    this.#subscription?.close();
    await this.#started;
    await this.#scanning;
    await Promise.all(this.#running.values());
  }

  /** Looks for work now (a change committed, an endpoint was added or moved). */
  kick(): void {
    if (this.#stopped.signal.aborted) return;
    if (this.#scanning) {
      this.#scanAgain = true;
      return;
    }
    this.#scanning = this.#scan().finally(() => {
      this.#scanning = undefined;
    });
  }

  async #scan(): Promise<void> {
    try {
      do {
        this.#scanAgain = false;
        const ids = await dueWebhooks(this.store, this.#settled, this.now().toISOString());
        for (const id of ids) {
          if (this.#running.size >= this.settings.concurrency || this.#stopped.signal.aborted) break;
          if (this.#running.has(id)) continue;
          // After a turn, look again on the next turn of the event loop (not at once: a turn that
          // fails without waiting for anything must not keep the loop from timers and I/O); after
          // a failed one, at the next poll.
          const turn = this.#turn(id).then(
            () => {
              this.#running.delete(id);
              setImmediate(() => this.kick());
            },
            (error: unknown) => {
              this.#running.delete(id);
              this.#report(error);
            },
          );
          this.#running.set(id, turn);
        }
        await this.#scheduleRetry();
      } while (this.#scanAgain && !this.#stopped.signal.aborted);
      this.#reported = false;
    } catch (error) {
      this.#report(error);
    }
  }

  /** Wakes at the earliest retry due, rather than at the next poll; notes whether any endpoint is enabled. */
  async #scheduleRetry(): Promise<void> {
    const { count, earliestRetryAt: at } = await enabledWebhooks(this.store);
    this.#anyEnabled = count > 0;
    clearTimeout(this.#retryTimer);
    if (at === undefined || this.#stopped.signal.aborted) return;
    const wait = Math.max(0, Date.parse(at) - this.now().getTime());
    if (wait >= this.settings.pollMs) return;
    this.#retryTimer = setTimeout(() => this.kick(), wait + 1);
    this.#retryTimer.unref();
  }

  /** One endpoint's turn: holds its lease, and sends its changes until it is caught up, fails, or has sent its share. */
  async #turn(webhookId: number): Promise<void> {
    const lease = leaseMs(this.settings);
    let leasedAt = performance.now();
    let row = await leaseWebhook(this.store, webhookId, this.#owner, lease);
    if (!row) return;
    try {
      for (let sent = 0; sent < SENDS_PER_TURN && !this.#stopped.signal.aborted; sent++) {
        if (row.next_attempt_at !== null && row.next_attempt_at > this.now().toISOString()) return;
        const change = await this.#nextChange(row);
        if (!change) return;
        // What is left of the lease by this process's clock, less the margin: the attempt ends before the lease does.
        const left = leasedAt + lease - leaseMarginMs(this.settings) - performance.now();
        const delivered = await this.#send(row, change, Math.min(this.settings.timeoutMs, left));
        if (!delivered || this.#stopped.signal.aborted) return;
        leasedAt = performance.now();
        row = await leaseWebhook(this.store, webhookId, this.#owner, lease);
        if (!row) return;
      }
    } finally {
      await releaseWebhook(this.store, webhookId, this.#owner).catch((error: unknown) => this.#report(error));
    }
  }

  /**
   * The next change the endpoint asks for, up to where the feed stands; passes over (and saves
   * as passed) the ones it does not ask for, and says so in its log when retention pruned changes
   * it had not been sent. Undefined when there is none yet, or the row was moved meanwhile.
   */
  async #nextChange(row: WebhookRow): Promise<WebhookChange | undefined> {
    const pruned = await prunedThrough(this.store);
    if (row.position < pruned) {
      const from = row.position;
      if (!(await advanceWebhook(this.store, row.webhook_id, this.#owner, from, pruned))) return undefined;
      row.position = pruned;
      await logDelivery(this.store, {
        webhook_id: row.webhook_id,
        revision: pruned,
        kind: "feed.pruned",
        outcome: "skipped",
        attempt: 0,
        attempted_at: this.now().toISOString(),
        response_status: null,
        duration_ms: 0,
        error: `changes after revision ${from} through ${pruned} were pruned by the feed's retention before they were sent`,
      });
    }
    for (let batch = 0; batch < SCAN_BATCHES; batch++) {
      const through = this.#settled;
      if (row.position >= through) return undefined;
      const changes = await changesFor(this.store, row.position, through, SCAN_BATCH);
      const wanted = changes.find((change) => wantsChange(row, change));
      if (wanted) {
        // Save the position just before it, so the ones passed over are not read again.
        const before = wanted.revision - 1;
        if (before > row.position) {
          if (!(await advanceWebhook(this.store, row.webhook_id, this.#owner, row.position, before))) return undefined;
          row.position = before;
        }
        return wanted;
      }
      const upTo = changes.length < SCAN_BATCH ? through : (changes.at(-1)?.revision ?? through);
      if (!(await advanceWebhook(this.store, row.webhook_id, this.#owner, row.position, upTo))) return undefined;
      row.position = upTo;
    }
    return undefined;
  }

  /** One attempt; logs it and moves the endpoint on, or schedules the retry (or disables it). True when delivered. */
  async #send(row: WebhookRow, change: WebhookChange, timeoutMs: number): Promise<boolean> {
    const at = this.now();
    const id = messageId(row.webhook_id, change.revision);
    const body = payloadOf(change);
    const result = await post({
      url: new URL(row.url),
      headers: {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": signatureOf(row, id, at, body),
      },
      body,
      allowPrivate: this.settings.allowPrivate,
      connectTimeoutMs: Math.min(this.settings.connectTimeoutMs, timeoutMs),
      timeoutMs: Math.max(1, timeoutMs),
      maxResponseBytes: MAX_RESPONSE_BYTES,
      signal: this.#stopped.signal,
    });
    // Stopped mid-attempt: nothing is known of it, and the change goes again to whoever comes next.
    if (this.#stopped.signal.aborted && result.status === undefined) return false;
    const attempt = row.failed_attempts + 1;
    const delivered = result.error === undefined;
    await logDelivery(this.store, {
      webhook_id: row.webhook_id,
      revision: change.revision,
      kind: change.kind,
      outcome: delivered ? "delivered" : "failed",
      attempt,
      attempted_at: at.toISOString(),
      response_status: result.status ?? null,
      duration_ms: result.durationMs,
      error: result.error ?? null,
    });
    if (delivered) {
      const moved = await advanceWebhook(this.store, row.webhook_id, this.#owner, row.position, change.revision);
      if (moved) row.position = change.revision;
      return moved;
    }
    const failingSince = row.failing_since ?? at.toISOString();
    const givenUp = at.getTime() - Date.parse(failingSince) >= this.settings.retryForMs;
    const retryAt = new Date(at.getTime() + backoffMs(this.settings, attempt)).toISOString();
    await recordWebhookFailure(this.store, row.webhook_id, this.#owner, row.position, {
      attempts: attempt,
      failingSince,
      nextAttemptAt: givenUp ? null : retryAt,
      disabledReason: givenUp
        ? `disabled at ${at.toISOString()}: revision ${change.revision} could not be delivered since ${failingSince} ` +
          `(${attempt} attempts; the last: ${result.error})`
        : null,
    });
    if (givenUp)
      this.log.warn(
        { webhook: row.webhook_id, revision: change.revision },
        "webhook disabled: deliveries kept failing",
      );
    return false;
  }

  #report(error: unknown): void {
    if (this.#stopped.signal.aborted || error instanceof DatabaseUnavailableError || this.#reported) return;
    this.#reported = true;
    this.log.warn({ err: error }, "webhook delivery failed; trying again");
  }
}
