import { limits } from "../../../openapi/limits.js";
import { api, type CreatedWebhook, unwrap, type Webhook, type WebhookDelivery, type WebhookInput } from "./api.js";

/** The kinds of change an endpoint may ask for, in the contract's order (generated from it). */
export const WEBHOOK_EVENT_KINDS = limits.enums.WebhookEventKind;
export const WEBHOOK_URL_MAX_LENGTH = limits.schemas.WebhookUrl.maxLength;
/** How many of the newest attempts the page shows for an endpoint. */
export const DELIVERIES_SHOWN = 20;

export async function listWebhooks(): Promise<Webhook[]> {
  return unwrap(await api.GET("/webhooks"));
}

export async function createWebhook(input: WebhookInput): Promise<CreatedWebhook> {
  return unwrap(await api.POST("/webhooks", { body: input }));
}

export async function updateWebhook(webhookId: number, input: WebhookInput): Promise<Webhook> {
  return unwrap(await api.PUT("/webhooks/{webhook_id}", { params: { path: { webhook_id: webhookId } }, body: input }));
}

export async function deleteWebhook(webhookId: number): Promise<void> {
  unwrap(await api.DELETE("/webhooks/{webhook_id}", { params: { path: { webhook_id: webhookId } } }));
}

export async function rotateSecret(webhookId: number, overlapHours: number): Promise<CreatedWebhook> {
  return unwrap(
    await api.POST("/webhooks/{webhook_id}/secret", {
      params: { path: { webhook_id: webhookId } },
      body: { overlap_hours: overlapHours },
    }),
  );
}

export async function listDeliveries(webhookId: number, limit: number): Promise<WebhookDelivery[]> {
  return unwrap(
    await api.GET("/webhooks/{webhook_id}/deliveries", {
      params: { path: { webhook_id: webhookId }, query: { limit } },
    }),
  );
}

export async function replayWebhook(webhookId: number, fromRevision: number): Promise<Webhook> {
  return unwrap(
    await api.POST("/webhooks/{webhook_id}/replay", {
      params: { path: { webhook_id: webhookId } },
      body: { from_revision: fromRevision },
    }),
  );
}

/** What the endpoint form holds while it is filled in. */
export interface WebhookDraft {
  url: string;
  events: readonly string[];
  /** A person's id, or empty for everyone's changes. */
  personId: string;
}

export interface DraftProblems {
  url?: string;
  events?: string;
  personId?: string;
}

const MAX_ID = limits.schemas.Id.maximum;
const REVISION = limits.schemas.Revision;

/** What the server would refuse as a revision to replay from (the contract's `Revision`). */
export function checkRevision(value: string): string | undefined {
  const text = value.trim();
  const number = Number(text);
  return /^[0-9]+$/.test(text) && number >= REVISION.minimum && number <= REVISION.maximum
    ? undefined
    : "Enter a revision: a whole number, 0 or more.";
}

/** What the server would refuse in the form, said before anything is sent; the server has the last word (private addresses). */
export function checkDraft(draft: WebhookDraft): DraftProblems {
  const problems: DraftProblems = {};
  const url = draft.url.trim();
  if (url === "") problems.url = "Enter the URL the changes are sent to.";
  else if (!/^https?:\/\/\S+$/.test(url)) problems.url = "Use an http:// or https:// URL without spaces.";
  // The server counts characters (code points), not UTF-16 units.
  else if ([...url].length > WEBHOOK_URL_MAX_LENGTH) problems.url = `Use at most ${WEBHOOK_URL_MAX_LENGTH} characters.`;
  if (draft.events.length === 0) problems.events = "Choose at least one kind of change.";
  const person = draft.personId.trim();
  if (person !== "" && !(/^[1-9][0-9]*$/.test(person) && Number(person) <= MAX_ID)) {
    problems.personId = "Enter a person's id (a whole number), or leave it empty for everyone.";
  }
  return problems;
}

/** The draft as the contract's `WebhookInput`; call once `checkDraft` finds nothing. */
export function inputOf(draft: WebhookDraft, enabled: boolean): WebhookInput {
  const person = draft.personId.trim();
  return {
    url: draft.url.trim(),
    events: WEBHOOK_EVENT_KINDS.filter((kind) => draft.events.includes(kind)),
    person_id: person === "" ? null : Number(person),
    enabled,
  };
}

export const draftOf = (webhook: Webhook): WebhookDraft => ({
  url: webhook.url,
  events: webhook.events,
  personId: webhook.person_id === null ? "" : String(webhook.person_id),
});
