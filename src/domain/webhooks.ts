import { randomBytes } from "node:crypto";
import { newestRevision, prunedThrough } from "../db/changes/repository.js";
import type { UnitOfWork } from "../db/executor.js";
import {
  type DeliveryRow,
  deleteWebhook,
  findWebhook,
  insertWebhook,
  listWebhooks,
  moveWebhook,
  recentDeliveries,
  rotateWebhookSecret,
  updateWebhook,
  type WebhookRow,
} from "../db/webhooks-repository.js";
import { badRequest, conflict, notFound } from "./errors.js";
import { type Caller, mayManageWebhooks, permit } from "./policy.js";
import type { WebhookEventKind, WebhookInput } from "./types.js";
import { refusedDestination } from "./webhook-requests.js";

export type { DeliveryRow, WebhookRow };

export interface WebhookServiceSettings {
  /** WEBHOOK_ALLOW_PRIVATE */
  allowPrivate: boolean;
}

/** An endpoint as the API shows it: never its secrets, nor its lease. */
export interface ShownWebhook {
  webhook_id: number;
  url: string;
  events: WebhookEventKind[];
  person_id: number | null;
  enabled: boolean;
  disabled_reason: string | null;
  position: number;
  failing_since: string | null;
  failed_attempts: number;
  next_attempt_at: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
}

const HOUR_MS = 3_600_000;
const webhookNotFound = (webhookId: number) => notFound(`Webhook not found for Id: ${webhookId}`);

/** `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries read a secret. */
export const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

export function shown(row: WebhookRow, now: Date = new Date()): ShownWebhook {
  const overlap = row.previous_secret_expires_at;
  return {
    webhook_id: row.webhook_id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventKind[],
    person_id: row.person_id,
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    position: row.position,
    failing_since: row.failing_since,
    failed_attempts: row.failed_attempts,
    next_attempt_at: row.next_attempt_at,
    previous_secret_expires_at: overlap !== null && overlap > now.toISOString() ? overlap : null,
    created_at: row.created_at,
  };
}

/**
 * Webhook endpoints, for admins: register, list, change, remove, rotate the secret, read the
 * recent attempts and send again from a revision. Endpoints are credentials-like configuration,
 * not content: they record no change and send no event. `onChanged` wakes the delivery.
 */
export class WebhookService {
  constructor(
    private readonly store: UnitOfWork,
    private readonly settings: WebhookServiceSettings,
    private readonly onChanged: () => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(caller: Caller): Promise<ShownWebhook[]> {
    permit(caller, mayManageWebhooks(caller), "admin");
    const now = this.now();
    return (await listWebhooks(this.store)).map((row) => shown(row, now));
  }

  /** The endpoint, sent the changes committed from now on, and its secret: shown once. */
  async create(caller: Caller, input: WebhookInput): Promise<{ webhook: ShownWebhook; secret: string }> {
    permit(caller, mayManageWebhooks(caller), "admin");
    const url = await this.#checkedUrl(input.url);
    const secret = newSecret();
    const row = await this.store.transaction(async (tx) =>
      insertWebhook(tx, {
        url,
        events: JSON.stringify(input.events),
        personId: input.person_id ?? null,
        enabled: input.enabled ?? true,
        secret,
        position: await newestRevision(tx),
        createdAt: this.now().toISOString(),
      }),
    );
    this.onChanged();
    return { webhook: shown(row, this.now()), secret };
  }

  async update(caller: Caller, webhookId: number, input: WebhookInput): Promise<ShownWebhook> {
    permit(caller, mayManageWebhooks(caller), "admin");
    const url = await this.#checkedUrl(input.url);
    const row = await updateWebhook(this.store, webhookId, {
      url,
      events: JSON.stringify(input.events),
      personId: input.person_id ?? null,
      enabled: input.enabled ?? true,
    });
    if (!row) throw webhookNotFound(webhookId);
    this.onChanged();
    return shown(row, this.now());
  }

  async delete(caller: Caller, webhookId: number): Promise<void> {
    permit(caller, mayManageWebhooks(caller), "admin");
    if (!(await deleteWebhook(this.store, webhookId))) throw webhookNotFound(webhookId);
  }

  /** A new secret, shown once; the one it replaces keeps signing for `overlapHours`. */
  async rotateSecret(
    caller: Caller,
    webhookId: number,
    overlapHours: number,
  ): Promise<{ webhook: ShownWebhook; secret: string }> {
    permit(caller, mayManageWebhooks(caller), "admin");
    const secret = newSecret();
    const now = this.now();
    const row = await this.store.transaction(async (tx) => {
      const current = await findWebhook(tx, webhookId);
      if (!current) throw webhookNotFound(webhookId);
      const previous =
        overlapHours > 0
          ? { secret: current.secret, expiresAt: new Date(now.getTime() + overlapHours * HOUR_MS).toISOString() }
          : null;
      return rotateWebhookSecret(tx, webhookId, secret, previous);
    });
    if (!row) throw webhookNotFound(webhookId);
    return { webhook: shown(row, now), secret };
  }

  async deliveries(caller: Caller, webhookId: number, limit: number): Promise<DeliveryRow[]> {
    permit(caller, mayManageWebhooks(caller), "admin");
    if (!(await findWebhook(this.store, webhookId))) throw webhookNotFound(webhookId);
    return recentDeliveries(this.store, webhookId, limit);
  }

  /** Sends again every change from `fromRevision` on; changes retention pruned cannot be, and the answer says so. */
  async replay(caller: Caller, webhookId: number, fromRevision: number): Promise<ShownWebhook> {
    permit(caller, mayManageWebhooks(caller), "admin");
    const position = Math.max(0, fromRevision - 1);
    const row = await this.store.transaction(async (tx) => {
      if (!(await findWebhook(tx, webhookId))) throw webhookNotFound(webhookId);
      const pruned = await prunedThrough(tx);
      if (position < pruned) {
        throw conflict(
          `Changes up to revision ${pruned} are no longer kept (FEED_RETENTION_CHANGES, FEED_RETENTION_HOURS): ` +
            `the oldest that can be sent again is ${pruned + 1}`,
        );
      }
      const newest = await newestRevision(tx);
      if (position > newest) throw badRequest(`Revision ${fromRevision} has not been reached: the newest is ${newest}`);
      return moveWebhook(tx, webhookId, position);
    });
    if (!row) throw webhookNotFound(webhookId);
    this.onChanged();
    return shown(row, this.now());
  }

  async #checkedUrl(text: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw badRequest("The URL is not valid", [{ in: "body", pointer: "/url", message: "must be a valid URL" }]);
    }
    const field = (message: string) => badRequest(`The URL ${message}`, [{ in: "body", pointer: "/url", message }]);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw field("must be http:// or https://");
    if (url.username !== "" || url.password !== "") throw field("must not hold a user name or password");
    if (url.hash !== "") throw field("must not have a fragment");
    const refused = await refusedDestination(url, this.settings.allowPrivate);
    if (refused) throw field(`is refused: ${refused}`);
    return url.toString();
  }
}
