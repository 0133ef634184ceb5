import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Access } from "../model/access.js";
import type { Webhook, WebhookDelivery } from "../model/api.js";
import type { Loaded } from "../model/selection.js";
import { checkDraft, type DraftProblems, WEBHOOK_EVENT_KINDS, type WebhookDraft } from "../model/webhooks.js";
import { paths } from "../router.js";
import { loadErrorView, loadingView, problemView, shownOnceView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";

/** What the rotation offers: how long the old secret keeps signing beside the new one. */
const OVERLAP_CHOICES: [hours: string, label: string][] = [
  ["0", "No overlap: the old secret stops now"],
  ["1", "1 hour"],
  ["24", "24 hours"],
  ["72", "3 days"],
];

export interface WebhooksState {
  readonly access: Access;
  readonly webhooks: Loaded<Webhook[]>;
  readonly latest: ReadonlyMap<number, WebhookDelivery>;
  readonly draft: WebhookDraft;
  readonly attempted: boolean;
  readonly editing: { webhookId: number; draft: WebhookDraft; attempted: boolean } | undefined;
  readonly rotating: { webhookId: number; overlapHours: string } | undefined;
  readonly secret: { url: string; secret: string; rotated: boolean } | undefined;
  readonly deliveries:
    | { webhookId: number; list: Loaded<WebhookDelivery[]>; from: string; attempted: boolean }
    | undefined;
  readonly replayError: string | undefined;
  readonly busy: boolean;
  readonly problem: string | undefined;
}

type DraftField = "url" | "personId";

export interface WebhooksHandlers {
  input(field: DraftField, value: string): void;
  toggleEvent(kind: string, on: boolean): void;
  create(): void;
  edit(webhook: Webhook): void;
  editInput(field: DraftField, value: string): void;
  editEvent(kind: string, on: boolean): void;
  save(webhook: Webhook): void;
  cancelEdit(): void;
  toggle(webhook: Webhook): void;
  startRotate(webhook: Webhook): void;
  overlap(hours: string): void;
  rotate(webhook: Webhook): void;
  cancelRotate(): void;
  delete(webhook: Webhook): void;
  deliveries(webhook: Webhook): void;
  refreshDeliveries(): void;
  replayInput(value: string): void;
  /** From the revision given, or from the one typed in the form when undefined. */
  replay(webhook: Webhook, from: number | undefined): void;
  copySecret(secret: string): void;
  dismissSecret(): void;
  signIn(): void;
  dismissProblem(): void;
}

interface DraftFormOptions {
  /** Makes the form's ids unique on the page: "" for the new endpoint, "-<id>" for one being edited. */
  suffix: string;
  draft: WebhookDraft;
  problems: DraftProblems;
  input(field: DraftField, value: string): void;
  toggleEvent(kind: string, on: boolean): void;
}

/** The URL, the kinds of change (the contract's, as checkboxes) and the person filter. */
function draftFields({ suffix, draft, problems, input, toggleEvent }: DraftFormOptions) {
  const eventsError = problems.events;
  return html`${fieldView({
    id: `webhook-url${suffix}`,
    label: "URL",
    value: draft.url,
    error: problems.url,
    hint: "Where each change is POSTed, e.g. https://example.com/hooks/people-notes.",
    autocomplete: "off",
    onInput: (value) => input("url", value),
  })}
    <fieldset
      class="checkbox-group ${eventsError ? "checkbox-group--invalid" : ""}"
      id="webhook-events${suffix}"
      aria-describedby=${eventsError ? `webhook-events${suffix}-error` : nothing}
    >
      <legend>Changes to send</legend>
      <div class="checkbox-group__options">
        ${WEBHOOK_EVENT_KINDS.map(
          (kind) => html`<label class="checkbox">
            <input
              type="checkbox"
              name="events"
              value=${kind}
              .checked=${draft.events.includes(kind)}
              @change=${(event: Event) => toggleEvent(kind, (event.target as HTMLInputElement).checked)}
            />
            <code>${kind}</code>
          </label>`,
        )}
      </div>
      ${eventsError ? html`<p class="field__error" id="webhook-events${suffix}-error">${eventsError}</p>` : nothing}
    </fieldset>
    ${fieldView({
      id: `webhook-person${suffix}`,
      label: "Only this person's changes (optional)",
      value: draft.personId,
      error: problems.personId,
      hint: "A person's id, as in their page's address; empty for everyone's.",
      autocomplete: "off",
      onInput: (value) => input("personId", value),
    })}`;
}

function secretView(secret: WebhooksState["secret"], handlers: WebhooksHandlers) {
  if (!secret) return nothing;
  const what = secret.rotated ? "The new signing secret" : "The signing secret";
  return shownOnceView({
    id: "webhook-secret",
    label: `${what} of ${secret.url}`,
    value: secret.secret,
    copy: handlers.copySecret,
    done: handlers.dismissSecret,
  });
}

const OUTCOMES: Record<WebhookDelivery["outcome"], string> = {
  delivered: "Delivered",
  failed: "Failed",
  skipped: "Skipped",
};

/** One attempt in words: outcome, answer, time taken. */
function attemptSummary(delivery: WebhookDelivery) {
  const status = delivery.response_status === null ? "no answer" : `HTTP ${delivery.response_status}`;
  return `${OUTCOMES[delivery.outcome]} · ${status} · ${delivery.duration_ms} ms`;
}

function stateView(webhook: Webhook, latest: WebhookDelivery | undefined) {
  const state = webhook.enabled
    ? webhook.failing_since
      ? html`<span class="badge badge--warning">Failing</span> since ${timeView(webhook.failing_since)},
          ${webhook.failed_attempts} ${webhook.failed_attempts === 1 ? "attempt" : "attempts"}${
            webhook.next_attempt_at ? html`; next ${timeView(webhook.next_attempt_at)}` : nothing
          }`
      : html`<span class="badge badge--ok">Enabled</span>`
    : html`<span class="badge">Disabled</span>`;
  return html`<dl class="webhook__facts">
    <div><dt>Sends</dt><dd>${webhook.events.join(", ")}</dd></div>
    <div>
      <dt>For</dt>
      <dd>${webhook.person_id === null ? "Everyone" : html`<a href=${paths.person(webhook.person_id)}>Person ${webhook.person_id}</a>`}</dd>
    </div>
    <div><dt>State</dt><dd class="webhook__state">${state}</dd></div>
    ${
      webhook.disabled_reason
        ? html`<div><dt>Why disabled</dt><dd class="webhook__reason">${webhook.disabled_reason}</dd></div>`
        : nothing
    }
    <div>
      <dt>Last delivery</dt>
      <dd class="webhook__last">
        ${latest ? html`${attemptSummary(latest)} · ${timeView(latest.attempted_at)}` : "None yet"}
      </dd>
    </div>
    <div><dt>Sent up to</dt><dd>revision ${webhook.position}</dd></div>
    ${
      webhook.previous_secret_expires_at
        ? html`<div><dt>Old secret</dt><dd>signs too until ${timeView(webhook.previous_secret_expires_at)}</dd></div>`
        : nothing
    }
  </dl>`;
}

function editForm(webhook: Webhook, state: WebhooksState, handlers: WebhooksHandlers) {
  const editing = state.editing;
  if (!editing || editing.webhookId !== webhook.webhook_id) return nothing;
  const problems = editing.attempted ? checkDraft(editing.draft) : {};
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.save(webhook);
  };
  return html`<form class="form webhook__form" novalidate aria-label="Edit webhook" @submit=${submit}>
    ${draftFields({
      suffix: `-${webhook.webhook_id}`,
      draft: editing.draft,
      problems,
      input: handlers.editInput,
      toggleEvent: handlers.editEvent,
    })}
    <div class="form__actions">
      <button type="submit" class="button button--primary" ?disabled=${state.busy}>Save</button>
      <button type="button" class="button button--secondary" @click=${handlers.cancelEdit}>Cancel</button>
    </div>
  </form>`;
}

function rotateForm(webhook: Webhook, state: WebhooksState, handlers: WebhooksHandlers) {
  const rotating = state.rotating;
  if (!rotating || rotating.webhookId !== webhook.webhook_id) return nothing;
  const id = `webhook-overlap-${webhook.webhook_id}`;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.rotate(webhook);
  };
  return html`<form class="form webhook__form" novalidate aria-label="Rotate secret" @submit=${submit}>
    <div class="field">
      <label for=${id}>The old secret keeps signing for</label>
      <select
        id=${id}
        .value=${rotating.overlapHours}
        @change=${(event: Event) => handlers.overlap((event.target as HTMLSelectElement).value)}
      >
        ${OVERLAP_CHOICES.map(
          ([hours, label]) =>
            html`<option value=${hours} ?selected=${hours === rotating.overlapHours}>${label}</option>`,
        )}
      </select>
      <div class="field__meta">
        <p class="field__hint">Meanwhile every delivery is signed with both, so the receiver can switch at any moment.</p>
      </div>
    </div>
    <div class="form__actions">
      <button type="submit" class="button button--primary" ?disabled=${state.busy}>Rotate secret</button>
      <button type="button" class="button button--secondary" @click=${handlers.cancelRotate}>Cancel</button>
    </div>
  </form>`;
}

function deliveryRow(webhook: Webhook, delivery: WebhookDelivery, state: WebhooksState, handlers: WebhooksHandlers) {
  return html`<li class="account-list__row webhook-delivery webhook-delivery--${delivery.outcome}" data-delivery=${delivery.delivery_id}>
    <div class="account-list__main">
      <span class="account-list__name">${attemptSummary(delivery)}</span>
      <span class="account-list__meta">
        ${timeView(delivery.attempted_at)} · revision ${delivery.revision} (${delivery.kind}) · attempt ${delivery.attempt}
      </span>
      ${delivery.error ? html`<span class="webhook-delivery__error">${delivery.error}</span>` : nothing}
    </div>
    ${
      delivery.outcome === "skipped"
        ? nothing
        : html`<button
            type="button"
            class="button button--secondary button--small"
            ?disabled=${state.busy}
            @click=${() => handlers.replay(webhook, delivery.revision)}
          >Send again from here<span class="visually-hidden"> (revision ${delivery.revision})</span></button>`
    }
  </li>`;
}

function deliveriesView(webhook: Webhook, state: WebhooksState, handlers: WebhooksHandlers) {
  const open = state.deliveries;
  if (!open || open.webhookId !== webhook.webhook_id) return nothing;
  const headingId = `webhook-deliveries-${webhook.webhook_id}`;
  const inputId = `webhook-replay-${webhook.webhook_id}`;
  const list = open.list;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.replay(webhook, undefined);
  };
  return html`<section class="webhook__deliveries" aria-labelledby=${headingId}>
    <h3 id=${headingId} class="webhook__subtitle">Recent deliveries</h3>
    ${
      list.status === "loading"
        ? loadingView("Loading deliveries…")
        : list.status === "error"
          ? loadErrorView("deliveries", list.error, handlers.refreshDeliveries)
          : list.value.length === 0
            ? html`<p class="page__lead">Nothing sent yet.</p>`
            : html`<ol class="account-list" aria-label="Deliveries, newest first">
                ${repeat(
                  list.value,
                  (delivery) => delivery.delivery_id,
                  (delivery) => deliveryRow(webhook, delivery, state, handlers),
                )}
              </ol>`
    }
    <button type="button" class="button button--secondary button--small" @click=${handlers.refreshDeliveries}>
      Refresh
    </button>
    <form class="form webhook__form" novalidate @submit=${submit}>
      ${fieldView({
        id: inputId,
        label: "Send again from revision",
        value: open.from,
        error: state.replayError,
        hint: "Every change it asks for from this revision on is sent again, with the same webhook-id.",
        autocomplete: "off",
        onInput: handlers.replayInput,
      })}
      <div class="form__actions">
        <button type="submit" class="button button--secondary" ?disabled=${state.busy}>Replay</button>
      </div>
    </form>
  </section>`;
}

function webhookCard(webhook: Webhook, state: WebhooksState, handlers: WebhooksHandlers) {
  const open = state.deliveries?.webhookId === webhook.webhook_id;
  const name = html`<span class="visually-hidden"> ${webhook.url}</span>`;
  return html`<li class="card webhook" id="webhook-${webhook.webhook_id}" data-webhook-id=${webhook.webhook_id}>
    <h2 class="webhook__url">${webhook.url}</h2>
    ${stateView(webhook, state.latest.get(webhook.webhook_id))}
    <div class="webhook__actions">
      <button type="button" class="button button--secondary button--small webhook__edit" ?disabled=${state.busy} @click=${() => handlers.edit(webhook)}>
        Edit${name}
      </button>
      <button type="button" class="button button--secondary button--small" ?disabled=${state.busy} @click=${() => handlers.toggle(webhook)}>
        ${webhook.enabled ? "Disable" : "Enable"}${name}
      </button>
      <button type="button" class="button button--secondary button--small" ?disabled=${state.busy} @click=${() => handlers.startRotate(webhook)}>
        Rotate secret${name}
      </button>
      <button
        type="button"
        class="button button--secondary button--small"
        aria-expanded=${open ? "true" : "false"}
        @click=${() => handlers.deliveries(webhook)}
      >Deliveries${name}</button>
      <button type="button" class="button button--danger-quiet button--small" ?disabled=${state.busy} @click=${() => handlers.delete(webhook)}>
        Delete${name}
      </button>
    </div>
    ${editForm(webhook, state, handlers)} ${rotateForm(webhook, state, handlers)} ${deliveriesView(webhook, state, handlers)}
  </li>`;
}

function listView(state: WebhooksState, handlers: WebhooksHandlers) {
  const list = state.webhooks;
  if (list.status === "loading") return loadingView("Loading webhooks…");
  if (list.status === "error") return loadErrorView("webhooks", list.error, () => location.reload());
  if (list.value.length === 0) return html`<p class="page__lead">No webhooks yet.</p>`;
  return html`<ul class="card-list webhook-list" aria-label="Webhooks">
    ${repeat(
      list.value,
      (webhook) => webhook.webhook_id,
      (webhook) => webhookCard(webhook, state, handlers),
    )}
  </ul>`;
}

function createForm(state: WebhooksState, handlers: WebhooksHandlers) {
  const problems = state.attempted ? checkDraft(state.draft) : {};
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.create();
  };
  return html`<section class="card account-card" aria-labelledby="new-webhook-heading">
    <h2 id="new-webhook-heading" class="section-title">New webhook</h2>
    <form class="form" novalidate @submit=${submit}>
      ${draftFields({ suffix: "", draft: state.draft, problems, input: handlers.input, toggleEvent: handlers.toggleEvent })}
      <div class="form__actions">
        <button type="submit" class="button button--primary" ?disabled=${state.busy}>Add webhook</button>
      </div>
    </form>
  </section>`;
}

/** The webhooks page: for admins, the endpoints and a form for a new one; for others, why not. */
export function webhooksView(state: WebhooksState, handlers: WebhooksHandlers) {
  const { access } = state;
  const body = access.checking
    ? loadingView("Checking your sign-in…")
    : !access.mayManageWebhooks
      ? html`<div class="notice">
          <p class="notice__text">Webhooks are for admins. Sign in as an admin to manage them.</p>
          ${
            access.signedOut
              ? html`<button type="button" class="button button--primary" @click=${handlers.signIn}>Sign in</button>`
              : nothing
          }
        </div>`
      : html`${secretView(state.secret, handlers)} ${listView(state, handlers)} ${createForm(state, handlers)}`;
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">Webhooks</h1>
      <p class="page__lead">
        Addresses that are sent each change they ask for, in order and signed (Standard Webhooks).
      </p>
    </header>
    ${problemView(state.problem, handlers.dismissProblem)} ${body}
  </div>`;
}
