import { type Kysely, type RawBuilder, sql } from "kysely";
import { affected, type Executor, prepareQuery } from "./executor.js";
import type { Database, Engine, WebhookDeliveryTable, WebhookTable } from "./schema.js";

/** An endpoint as stored, secrets included: only the delivery and the service read those. */
export type WebhookRow = Omit<WebhookTable, "webhook_id" | "failed_attempts"> & {
  webhook_id: number;
  failed_attempts: number;
};

export type DeliveryRow = Omit<WebhookDeliveryTable, "delivery_id"> & { delivery_id: number };
export type NewDelivery = Omit<WebhookDeliveryTable, "delivery_id">;

export interface NewWebhook {
  url: string;
  events: string;
  personId: number | null;
  enabled: boolean;
  secret: string;
  position: number;
  createdAt: string;
}

export interface WebhookChange {
  revision: number;
  kind: string;
  person_id: number;
  resource_id: number;
  data: string;
  recorded_at: string;
}

/** Delivery attempts kept per endpoint; older ones are removed as new ones are written. */
export const DELIVERIES_KEPT = 200;

const columns = [
  "webhook_id",
  "url",
  "events",
  "person_id",
  "enabled",
  "disabled_reason",
  "secret",
  "previous_secret",
  "previous_secret_expires_at",
  "position",
  "failed_attempts",
  "failing_since",
  "next_attempt_at",
  "lease_owner",
  "lease_until",
  "created_at",
] as const;

/** Now on the database's clock, in milliseconds since the epoch: every process compares leases by it. */
const nowMs: Record<Engine, RawBuilder<number>> = {
  sqlite: sql<number>`cast(unixepoch('subsec') * 1000 as integer)`,
  postgres: sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
};

const insert = prepareQuery(
  (
    db,
    url: string,
    events: string,
    personId: number | null,
    enabled: number,
    secret: string,
    position: number,
    createdAt: string,
  ) =>
    db
      .insertInto("webhook")
      .values({ url, events, person_id: personId, enabled, secret, position, created_at: createdAt })
      .returning(columns),
);
const all = prepareQuery((db) => db.selectFrom("webhook").select(columns).orderBy("webhook_id"));
const one = prepareQuery((db, webhookId: number) =>
  db.selectFrom("webhook").select(columns).where("webhook_id", "=", webhookId),
);
// Enabling (or changing an enabled endpoint) starts its retries over: the next attempt comes at once.
const update = prepareQuery(
  (db, webhookId: number, url: string, events: string, personId: number | null, enabled: number) =>
    db
      .updateTable("webhook")
      .set((eb) => ({
        url,
        events,
        person_id: personId,
        enabled,
        disabled_reason: eb.case().when(eb.val(enabled), "=", 1).then(null).else(eb.ref("disabled_reason")).end(),
        failed_attempts: eb.case().when(eb.val(enabled), "=", 1).then(0).else(eb.ref("failed_attempts")).end(),
        failing_since: eb.case().when(eb.val(enabled), "=", 1).then(null).else(eb.ref("failing_since")).end(),
        next_attempt_at: eb.case().when(eb.val(enabled), "=", 1).then(null).else(eb.ref("next_attempt_at")).end(),
      }))
      .where("webhook_id", "=", webhookId)
      .returning(columns),
);
const remove = prepareQuery((db, webhookId: number) => db.deleteFrom("webhook").where("webhook_id", "=", webhookId));
const rotate = prepareQuery(
  (db, webhookId: number, secret: string, previous: string | null, previousExpiresAt: string | null) =>
    db
      .updateTable("webhook")
      .set({ secret, previous_secret: previous, previous_secret_expires_at: previousExpiresAt })
      .where("webhook_id", "=", webhookId)
      .returning(columns),
);
const moveTo = prepareQuery((db, webhookId: number, position: number) =>
  db
    .updateTable("webhook")
    .set({ position, failed_attempts: 0, failing_since: null, next_attempt_at: null })
    .where("webhook_id", "=", webhookId)
    .returning(columns),
);
const recent = prepareQuery((db, webhookId: number, limit: number) =>
  db
    .selectFrom("webhook_delivery")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .orderBy("delivery_id", "desc")
    .limit(limit),
);

// --- delivery ---

/** Endpoints with changes to send, not waiting for a retry, whose lease (by the database's clock) has run out. */
const dueFor = (engine: Engine) => (db: Kysely<Database>, settled: number, now: string) =>
  db
    .selectFrom("webhook")
    .select("webhook_id")
    .where("enabled", "=", 1)
    .where("position", "<", settled)
    .where((eb) => eb.or([eb("next_attempt_at", "is", null), eb("next_attempt_at", "<=", now)]))
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", nowMs[engine])]))
    .orderBy("webhook_id");
const due = prepareQuery({ sqlite: dueFor("sqlite"), postgres: dueFor("postgres") });
const enabledSummary = prepareQuery((db) =>
  db
    .selectFrom("webhook")
    .select((eb) => [eb.fn.min("next_attempt_at").as("at"), eb.fn.countAll<number | string>().as("enabled")])
    .where("enabled", "=", 1),
);

const leaseFor = (engine: Engine) => (db: Kysely<Database>, webhookId: number, owner: string, leaseMs: number) =>
  db
    .updateTable("webhook")
    .set({ lease_owner: owner, lease_until: sql<number>`${nowMs[engine]} + ${leaseMs}` })
    .where("webhook_id", "=", webhookId)
    .where("enabled", "=", 1)
    .where((eb) =>
      eb.or([eb("lease_until", "is", null), eb("lease_until", "<", nowMs[engine]), eb("lease_owner", "=", owner)]),
    )
    .returning(columns);
const lease = prepareQuery({ sqlite: leaseFor("sqlite"), postgres: leaseFor("postgres") });
const release = prepareQuery((db, webhookId: number, owner: string) =>
  db
    .updateTable("webhook")
    .set({ lease_owner: null, lease_until: null })
    .where("webhook_id", "=", webhookId)
    .where("lease_owner", "=", owner),
);
const advance = prepareQuery((db, webhookId: number, owner: string, from: number, to: number) =>
  db
    .updateTable("webhook")
    .set({ position: to, failed_attempts: 0, failing_since: null, next_attempt_at: null })
    .where("webhook_id", "=", webhookId)
    .where("lease_owner", "=", owner)
    .where("position", "=", from),
);
const failed = prepareQuery(
  (
    db,
    webhookId: number,
    owner: string,
    position: number,
    attempts: number,
    failingSince: string,
    nextAttemptAt: string | null,
    enabled: number,
    reason: string | null,
  ) =>
    db
      .updateTable("webhook")
      .set({
        failed_attempts: attempts,
        failing_since: failingSince,
        next_attempt_at: nextAttemptAt,
        enabled,
        disabled_reason: reason,
      })
      .where("webhook_id", "=", webhookId)
      .where("lease_owner", "=", owner)
      .where("position", "=", position),
);
const changesBetween = prepareQuery((db, after: number, through: number, limit: number) =>
  db
    .selectFrom("change")
    .select(["revision", "kind", "person_id", "resource_id", "data", "recorded_at"])
    .where("revision", ">", after)
    .where("revision", "<=", through)
    .orderBy("revision")
    .limit(limit),
);
const insertDelivery = prepareQuery(
  (
    db,
    webhookId: number,
    revision: number,
    kind: string,
    outcome: NewDelivery["outcome"],
    attempt: number,
    attemptedAt: string,
    responseStatus: number | null,
    durationMs: number,
    error: string | null,
  ) =>
    db.insertInto("webhook_delivery").values({
      webhook_id: webhookId,
      revision,
      kind,
      outcome,
      attempt,
      attempted_at: attemptedAt,
      response_status: responseStatus,
      duration_ms: durationMs,
      error,
    }),
);
const pruneDeliveries = prepareQuery((db, webhookId: number) =>
  db
    .deleteFrom("webhook_delivery")
    .where("webhook_id", "=", webhookId)
    .where("delivery_id", "<=", (eb) =>
      eb
        .selectFrom("webhook_delivery")
        .select("delivery_id")
        .where("webhook_id", "=", webhookId)
        .orderBy("delivery_id", "desc")
        .limit(1)
        .offset(DELIVERIES_KEPT),
    ),
);

export async function insertWebhook(ex: Executor, webhook: NewWebhook): Promise<WebhookRow> {
  const row = await insert.first(
    ex,
    webhook.url,
    webhook.events,
    webhook.personId,
    webhook.enabled ? 1 : 0,
    webhook.secret,
    webhook.position,
    webhook.createdAt,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row;
}

export async function listWebhooks(ex: Executor): Promise<WebhookRow[]> {
  return (await all.run(ex)).rows;
}

export function findWebhook(ex: Executor, webhookId: number): Promise<WebhookRow | undefined> {
  return one.first(ex, webhookId);
}

export function updateWebhook(
  ex: Executor,
  webhookId: number,
  change: { url: string; events: string; personId: number | null; enabled: boolean },
): Promise<WebhookRow | undefined> {
  return update.first(ex, webhookId, change.url, change.events, change.personId, change.enabled ? 1 : 0);
}

export async function deleteWebhook(ex: Executor, webhookId: number): Promise<boolean> {
  return affected(await remove.run(ex, webhookId)) > 0;
}

export function rotateWebhookSecret(
  ex: Executor,
  webhookId: number,
  secret: string,
  previous: { secret: string; expiresAt: string } | null,
): Promise<WebhookRow | undefined> {
  return rotate.first(ex, webhookId, secret, previous?.secret ?? null, previous?.expiresAt ?? null);
}

/** Moves an endpoint's position (a replay), and starts its retries over. */
export function moveWebhook(ex: Executor, webhookId: number, position: number): Promise<WebhookRow | undefined> {
  return moveTo.first(ex, webhookId, position);
}

export async function recentDeliveries(ex: Executor, webhookId: number, limit: number): Promise<DeliveryRow[]> {
  return (await recent.run(ex, webhookId, limit)).rows;
}

/** Enabled endpoints behind `settled`, due for an attempt at `now`, and leased by nobody. */
export async function dueWebhooks(ex: Executor, settled: number, now: string): Promise<number[]> {
  return (await due.run(ex, settled, now)).rows.map((row) => row.webhook_id);
}

/** How many endpoints are enabled, and when the next retry of any of them is due (or undefined). */
export async function enabledWebhooks(ex: Executor): Promise<{ count: number; earliestRetryAt: string | undefined }> {
  const row = await enabledSummary.first(ex);
  return { count: Number(row?.enabled ?? 0), earliestRetryAt: row?.at ?? undefined };
}

/**
 * Takes (or renews) the endpoint's lease for `leaseMs` on the database's clock, when it is enabled
 * and nobody else holds an unexpired lease; returns the row as it now is, or undefined.
 */
export function leaseWebhook(
  ex: Executor,
  webhookId: number,
  owner: string,
  leaseMs: number,
): Promise<WebhookRow | undefined> {
  return lease.first(ex, webhookId, owner, leaseMs);
}

export async function releaseWebhook(ex: Executor, webhookId: number, owner: string): Promise<void> {
  await release.run(ex, webhookId, owner);
}

/**
 * Moves the position from `from` to `to` and clears the failures, only while `owner` holds the
 * lease and nobody moved the position meanwhile (a replay); false when either changed.
 */
export async function advanceWebhook(
  ex: Executor,
  webhookId: number,
  owner: string,
  from: number,
  to: number,
): Promise<boolean> {
  return affected(await advance.run(ex, webhookId, owner, from, to)) > 0;
}

/** Records a failed attempt at the change after `position`, under the same conditions as advancing. */
export async function recordWebhookFailure(
  ex: Executor,
  webhookId: number,
  owner: string,
  position: number,
  failure: { attempts: number; failingSince: string; nextAttemptAt: string | null; disabledReason: string | null },
): Promise<boolean> {
  const disabled = failure.disabledReason !== null;
  const result = await failed.run(
    ex,
    webhookId,
    owner,
    position,
    failure.attempts,
    failure.failingSince,
    failure.nextAttemptAt,
    disabled ? 0 : 1,
    failure.disabledReason,
  );
  return affected(result) > 0;
}

/** Changes after `after` up to `through`, oldest first, at most `limit`. */
export async function changesFor(
  ex: Executor,
  after: number,
  through: number,
  limit: number,
): Promise<WebhookChange[]> {
  return (await changesBetween.run(ex, after, through, limit)).rows;
}

/** Writes an attempt to the endpoint's log and forgets those beyond the newest DELIVERIES_KEPT. */
export async function logDelivery(ex: Executor, delivery: NewDelivery): Promise<void> {
  await insertDelivery.run(
    ex,
    delivery.webhook_id,
    delivery.revision,
    delivery.kind,
    delivery.outcome,
    delivery.attempt,
    delivery.attempted_at,
    delivery.response_status,
    delivery.duration_ms,
    delivery.error,
  );
  await pruneDeliveries.run(ex, delivery.webhook_id);
}
