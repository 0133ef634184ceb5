import { toApiError, type Webhook, type WebhookDelivery } from "../model/api.js";
import type { Loaded } from "../model/selection.js";
import {
  checkDraft,
  checkRevision,
  createWebhook,
  DELIVERIES_SHOWN,
  deleteWebhook,
  draftOf,
  inputOf,
  listDeliveries,
  listWebhooks,
  replayWebhook,
  rotateSecret,
  updateWebhook,
  type WebhookDraft,
} from "../model/webhooks.js";
import { confirmAction } from "../views/confirm-dialog.js";
import { type WebhooksHandlers, type WebhooksState, webhooksView } from "../views/webhooks-view.js";
import type { Host, PageController } from "./page.js";

/**
 * How often the page reads the endpoints and the open delivery log again: deliveries happen in
 * the background, after the change that caused them, and no event announces them.
 */
export const REFRESH_MS = 5_000;
/** What the rotation offers by default: the contract's default overlap. */
const DEFAULT_OVERLAP_HOURS = "24";

const emptyDraft = (): WebhookDraft => ({ url: "", events: [], personId: "" });

/**
 * `/webhooks`, for admins: the endpoints with their state and last delivery; register one (its
 * secret shown once), change what it asks for, disable or enable it, rotate its secret (shown
 * once), delete it; an endpoint's recent deliveries, and sending again from a revision.
 */
export class WebhooksController implements PageController, WebhooksState {
  readonly title = "Webhooks";
  webhooks: Loaded<Webhook[]> = { status: "loading" };
  /** Each endpoint's newest attempt, when it has one. */
  latest = new Map<number, WebhookDelivery>();
  draft: WebhookDraft = emptyDraft();
  attempted = false;
  editing: { webhookId: number; draft: WebhookDraft; attempted: boolean } | undefined;
  rotating: { webhookId: number; overlapHours: string } | undefined;
  /** A secret just made or rotated: shown this once, until dismissed or the page is left. */
  secret: { url: string; secret: string; rotated: boolean } | undefined;
  deliveries: { webhookId: number; list: Loaded<WebhookDelivery[]>; from: string; attempted: boolean } | undefined;
  busy = false;
  problem: string | undefined;
  #timer: number | undefined;
  #disposed = false;
  #allowed: boolean | undefined;
  /** The number of the newest read started, and of the newest one answered. */
  #reads = 0;
  #finished = 0;

  constructor(private readonly host: Host) {}

  get access() {
    return this.host.access;
  }

  show(): void {
    window.clearInterval(this.#timer);
    this.#timer = window.setInterval(() => {
      // While the newest read is unanswered, another would only take its place.
      const reading = this.#finished !== this.#reads;
      if (document.visibilityState === "visible" && this.#allowed && !reading) void this.#refresh();
    }, REFRESH_MS);
  }

  view() {
    // Signing in as an admin (or out) changes whether there is anything to show.
    const { access } = this.host;
    const allowed = access.checking ? undefined : access.mayManageWebhooks;
    if (allowed !== this.#allowed) {
      this.#allowed = allowed;
      if (allowed) void this.#load();
    }
    return webhooksView(this, this.handlers);
  }

  async #load(): Promise<void> {
    this.webhooks = { status: "loading" };
    this.host.update();
    await this.#refresh();
  }

  /**
   * Reads the endpoints, their newest attempts and the open log again; forms being filled in stay as
   * they are. Reads overlap (the timer's, an action's, the log's Refresh): only the newest one's
   * answers are shown, since an older one answered late would show what has changed since, such as
   * an endpoint just disabled as enabled, or one just deleted.
   */
  async #refresh(): Promise<void> {
    const read = ++this.#reads;
    const open = this.deliveries?.webhookId;
    // The open log is read whole, and its first entry is that endpoint's newest attempt.
    // Each read may fail on its own.
    const [endpoints, log] = await Promise.allSettled([
      this.#endpoints(open),
      open === undefined ? undefined : listDeliveries(open, DELIVERIES_SHOWN),
    ]);
    if (read !== this.#reads) return;
    this.#finished = read;
    if (endpoints.status === "fulfilled") {
      const { webhooks, latest } = endpoints.value;
      const openLatest = log.status === "fulfilled" ? log.value?.[0] : undefined;
      if (open !== undefined && openLatest) latest.set(open, openLatest);
      this.webhooks = { status: "ready", value: webhooks };
      this.latest = latest;
    } else if (this.webhooks.status !== "ready") {
      // A failed refresh keeps what was shown; only a first load shows the failure.
      this.webhooks = { status: "error", error: toApiError(endpoints.reason) };
    }
    const shown = this.deliveries;
    if (open !== undefined && shown && shown.webhookId === open) {
      if (log.status === "fulfilled") {
        if (log.value) shown.list = { status: "ready", value: log.value };
      } else if (shown.list.status !== "ready") shown.list = { status: "error", error: toApiError(log.reason) };
    }
    if (!this.#disposed) this.host.update();
  }

  /** The endpoints, and the newest attempt of each but `open` (whose log is read whole). */
  async #endpoints(open: number | undefined) {
    const webhooks = await listWebhooks();
    // One deleted meanwhile (in another tab) has no log: it is gone from the list on the next read.
    const newest = (webhookId: number) =>
      listDeliveries(webhookId, 1).then(
        (list) => list[0],
        () => undefined,
      );
    const latest = new Map<number, WebhookDelivery>();
    await Promise.all(
      webhooks.map(async ({ webhook_id: id }) => {
        const delivery = id === open ? undefined : await newest(id);
        if (delivery) latest.set(id, delivery);
      }),
    );
    return { webhooks, latest };
  }

  /** Runs one change; its failure is shown as the server's problem detail. True when it succeeded. */
  async #act(work: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.problem = undefined;
    this.host.update();
    try {
      await work();
      return true;
    } catch (error) {
      const problem = toApiError(error);
      this.host.dismissNotice();
      if (problem.status === 401) this.host.unauthorized(problem, "h1");
      else this.problem = problem.message;
      return false;
    } finally {
      this.busy = false;
      if (!this.#disposed) await this.#refresh();
    }
  }

  async #create(): Promise<void> {
    this.attempted = true;
    const problems = checkDraft(this.draft);
    if (Object.keys(problems).length > 0) {
      this.host.update();
      this.host.focus(problems.url ? "#webhook-url" : problems.events ? "#webhook-events input" : "#webhook-person");
      return;
    }
    const input = inputOf(this.draft, true);
    const done = await this.#act(async () => {
      const created = await createWebhook(input);
      this.secret = { url: created.url, secret: created.secret, rotated: false };
    });
    if (done) {
      this.draft = emptyDraft();
      this.attempted = false;
      this.host.focus("#webhook-secret");
    }
  }

  async #save(webhook: Webhook): Promise<void> {
    const editing = this.editing;
    if (!editing || editing.webhookId !== webhook.webhook_id) return;
    editing.attempted = true;
    const problems = checkDraft(editing.draft);
    if (Object.keys(problems).length > 0) {
      this.host.update();
      return;
    }
    const input = inputOf(editing.draft, webhook.enabled);
    if (await this.#act(() => updateWebhook(webhook.webhook_id, input).then(() => undefined))) {
      this.editing = undefined;
      this.host.notify("Webhook saved.");
      this.host.focus(`#webhook-${webhook.webhook_id} .webhook__edit`);
    }
  }

  async #toggle(webhook: Webhook): Promise<void> {
    const enabled = !webhook.enabled;
    const input = inputOf(draftOf(webhook), enabled);
    if (await this.#act(() => updateWebhook(webhook.webhook_id, input).then(() => undefined))) {
      this.host.notify(enabled ? "Webhook enabled." : "Webhook disabled.");
    }
  }

  async #rotate(webhook: Webhook): Promise<void> {
    const rotating = this.rotating;
    if (!rotating || rotating.webhookId !== webhook.webhook_id) return;
    const overlap = Number(rotating.overlapHours);
    const done = await this.#act(async () => {
      const rotated = await rotateSecret(webhook.webhook_id, overlap);
      this.secret = { url: rotated.url, secret: rotated.secret, rotated: true };
    });
    if (done) {
      this.rotating = undefined;
      this.host.focus("#webhook-secret");
    }
  }

  async #delete(webhook: Webhook): Promise<void> {
    const confirmed = await confirmAction({
      title: "Delete this webhook?",
      message: `Nothing more is sent to ${webhook.url}, and its delivery log is deleted. This can't be undone.`,
      confirmLabel: "Delete webhook",
    });
    if (!confirmed) return;
    const deleted = await this.#act(async () => {
      await deleteWebhook(webhook.webhook_id);
      // Before the page reads again: its log is gone with it.
      if (this.deliveries?.webhookId === webhook.webhook_id) this.deliveries = undefined;
      if (this.editing?.webhookId === webhook.webhook_id) this.editing = undefined;
      if (this.rotating?.webhookId === webhook.webhook_id) this.rotating = undefined;
    });
    if (deleted) {
      this.host.notify("Webhook deleted.");
      this.host.focus(["#webhook-url"]);
    }
  }

  async #toggleDeliveries(webhook: Webhook): Promise<void> {
    if (this.deliveries?.webhookId === webhook.webhook_id) {
      this.deliveries = undefined;
      this.host.update();
      return;
    }
    this.deliveries = { webhookId: webhook.webhook_id, list: { status: "loading" }, from: "", attempted: false };
    this.host.update();
    // A read like the others: an older one answered later must not show another log over it.
    await this.#refresh();
  }

  get replayError(): string | undefined {
    const open = this.deliveries;
    if (!open?.attempted) return undefined;
    return checkRevision(open.from);
  }

  async #replay(webhook: Webhook, from: number | undefined): Promise<void> {
    const open = this.deliveries;
    if (!open || open.webhookId !== webhook.webhook_id) return;
    if (from === undefined) {
      open.attempted = true;
      if (this.replayError) {
        this.host.update();
        this.host.focus(`#webhook-replay-${webhook.webhook_id}`);
        return;
      }
      from = Number(open.from.trim());
    }
    const revision = from;
    if (await this.#act(() => replayWebhook(webhook.webhook_id, revision).then(() => undefined))) {
      open.from = "";
      open.attempted = false;
      this.host.notify(`Sending again from revision ${revision}.`);
    }
  }

  readonly handlers: WebhooksHandlers = {
    input: (field, value) => {
      this.draft = { ...this.draft, [field]: value };
      this.host.update();
    },
    toggleEvent: (kind, on) => {
      this.draft = { ...this.draft, events: toggled(this.draft.events, kind, on) };
      this.host.update();
    },
    create: () => void this.#create(),
    edit: (webhook) => {
      this.editing = { webhookId: webhook.webhook_id, draft: draftOf(webhook), attempted: false };
      this.rotating = undefined;
      this.host.update();
      this.host.focus(`#webhook-url-${webhook.webhook_id}`);
    },
    editInput: (field, value) => {
      if (!this.editing) return;
      this.editing.draft = { ...this.editing.draft, [field]: value };
      this.host.update();
    },
    editEvent: (kind, on) => {
      if (!this.editing) return;
      this.editing.draft = { ...this.editing.draft, events: toggled(this.editing.draft.events, kind, on) };
      this.host.update();
    },
    save: (webhook) => void this.#save(webhook),
    cancelEdit: () => {
      const id = this.editing?.webhookId;
      this.editing = undefined;
      this.host.update();
      if (id !== undefined) this.host.focus(`#webhook-${id} .webhook__edit`);
    },
    toggle: (webhook) => void this.#toggle(webhook),
    startRotate: (webhook) => {
      this.rotating = { webhookId: webhook.webhook_id, overlapHours: DEFAULT_OVERLAP_HOURS };
      this.editing = undefined;
      this.host.update();
      this.host.focus(`#webhook-overlap-${webhook.webhook_id}`);
    },
    overlap: (value) => {
      if (this.rotating) this.rotating.overlapHours = value;
      this.host.update();
    },
    rotate: (webhook) => void this.#rotate(webhook),
    cancelRotate: () => {
      this.rotating = undefined;
      this.host.update();
    },
    delete: (webhook) => void this.#delete(webhook),
    deliveries: (webhook) => void this.#toggleDeliveries(webhook),
    refreshDeliveries: () => void this.#refresh(),
    replayInput: (value) => {
      if (this.deliveries) this.deliveries.from = value;
      this.host.update();
    },
    replay: (webhook, from) => void this.#replay(webhook, from),
    copySecret: (secret) => void navigator.clipboard?.writeText(secret).then(() => this.host.notify("Secret copied.")),
    dismissSecret: () => {
      this.secret = undefined;
      this.host.update();
      this.host.focus("#webhook-url");
    },
    signIn: () => this.host.signIn(),
    dismissProblem: () => {
      this.problem = undefined;
      this.host.update();
    },
  };

  dispose(): void {
    this.#disposed = true;
    window.clearInterval(this.#timer);
    this.secret = undefined;
  }
}

function toggled(events: readonly string[], kind: string, on: boolean): string[] {
  return on ? [...new Set([...events, kind])] : events.filter((each) => each !== kind);
}
