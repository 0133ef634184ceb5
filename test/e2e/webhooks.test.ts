import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page, Request } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { REFRESH_MS } from "../../web/src/controllers/webhooks-controller.js";
import { DELIVERIES_SHOWN } from "../../web/src/model/webhooks.js";
import { eventually } from "../support/eventually.js";
import { WAIT_LIMIT_MS } from "../support/limits.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { describeViolations, gate, SEED, screenshot, seriousAxeViolations, settle, useE2E } from "./support.js";

interface ShownWebhook {
  webhook_id: number;
  url: string;
  events: string[];
  person_id: number | null;
  enabled: boolean;
  previous_secret_expires_at: string | null;
}

const banner = (page: Page) => page.getByRole("banner");
const card = (page: Page) => page.locator(".webhook");
/** The card's own buttons, by their visible words (each also names the URL for screen readers). */
const cardButton = (page: Page, words: string) =>
  card(page)
    .locator(".webhook__actions")
    .getByRole("button", { name: new RegExp(`^${words} `) });

interface ShownDelivery {
  delivery_id: number;
  outcome: string;
}

/** The page's reads of the webhooks API, and a wait until it has none outstanding. */
function watchReads(page: Page) {
  const reads: Request[] = [];
  const outstanding = new Set<Request>();
  const isRead = (request: Request) =>
    request.method() === "GET" && new URL(request.url()).pathname.startsWith("/api/webhooks");
  page.on("request", (request) => {
    if (!isRead(request)) return;
    reads.push(request);
    outstanding.add(request);
  });
  page.on("requestfinished", (request) => outstanding.delete(request));
  page.on("requestfailed", (request) => outstanding.delete(request));
  return {
    reads,
    /** Paths with their query, e.g. `/api/webhooks/3/deliveries?limit=1`, from the `from`th read on. */
    since: (from: number) =>
      reads.slice(from).map((request) => {
        const url = new URL(request.url());
        return `${url.pathname}${url.search}`;
      }),
    /**
     * Resolves once every read the page started has been answered and handled, and the answers
     * started no further reads.
     */
    async quiet(): Promise<void> {
      const deadline = Date.now() + WAIT_LIMIT_MS;
      for (;;) {
        while (outstanding.size > 0) {
          if (Date.now() > deadline)
            throw new Error(`reads still outstanding: ${[...outstanding].map((r) => r.url())}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await settle(page);
        await settle(page);
        if (outstanding.size === 0) return;
      }
    },
  };
}

describe("webhooks in the browser", () => {
  // The receiver is on loopback, which the server refuses unless told otherwise.
  const e2e = useE2E({ env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_POLL_MS: "100" } });
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await WebhookReceiver.start();
  });
  after(() => receiver.close());

  test("an admin registers an endpoint, sees its secret once and its deliveries; disables, edits, replays, rotates and deletes it", async () => {
    const admin = await e2e.createToken("admin", "webhooks");
    const api = e2e.api.withToken(admin.token);

    // Signed out (access control is on now), there is no link, and the page says who it is for.
    const stranger = await e2e.openPage();
    await stranger.page.goto("/webhooks");
    await stranger.page.getByText("Webhooks are for admins.").waitFor();
    await banner(stranger.page).getByRole("button", { name: "Sign in" }).waitFor();
    assert.equal(await banner(stranger.page).getByRole("link", { name: "Webhooks" }).count(), 0);

    const { page, context, errors } = await e2e.openPage();
    await context.addInitScript((kept) => sessionStorage.setItem("people-notes.token", kept), admin.token);
    await page.goto("/");
    await banner(page).getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByText("No webhooks yet.").waitFor();

    // The form says what is missing before anything is sent; the server's refusal is its detail.
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.getByText("Enter the URL the changes are sent to.").waitFor();
    await page.getByText("Choose at least one kind of change.").waitFor();
    const created = page.getByRole("region", { name: "New webhook" });
    await created.getByLabel("URL").fill("https://user:secret@example.com/hook");
    await created.getByRole("checkbox", { name: "note.created" }).check();
    await created.getByRole("button", { name: "Add webhook" }).click();
    await page.getByRole("alert").filter({ hasText: "The URL must not hold a user name or password" }).waitFor();

    await created.getByLabel("URL").fill(receiver.url);
    await created.getByRole("button", { name: "Add webhook" }).click();
    const secretField = page.getByLabel(/The signing secret of .*shown this once/);
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    await page.getByRole("alert").waitFor({ state: "detached" });
    await card(page).getByText("None yet").waitFor();
    await page.getByRole("button", { name: "Done" }).click();
    await secretField.waitFor({ state: "detached" });
    await page.reload();
    await card(page).waitFor();
    assert.ok(!(await page.content()).includes(secret.slice(6)), "the secret is shown once only");
    const [webhook] = await api.request<ShownWebhook[]>("GET", "/webhooks");
    assert.ok(webhook);
    assert.equal(webhook.url, receiver.url);
    assert.deepEqual(webhook.events, ["note.created"]);

    // A note is sent, signed with the secret shown, and the page lists the delivery.
    const note = await api.createNote(SEED.bunny.id, "Sent to the receiver");
    await receiver.until(() => receiver.received.length >= 1, "the first delivery");
    const [first] = receiver.received;
    assert.ok(first);
    const payload = new Webhook(secret).verify(first.body, first.headers) as { data: { resource_id: number } };
    assert.equal(payload.data.resource_id, note.note_id);
    await cardButton(page, "Deliveries").click();
    const deliveries = page.getByRole("list", { name: "Deliveries, newest first" });
    await deliveries.getByText(/^Delivered · HTTP 200 · \d+ ms$/).waitFor();
    // The card's last delivery was read before the note was written: only the page's periodic refresh
    // (every 5 s, since no event announces a delivery) shows it, within the action bound.
    await card(page)
      .locator(".webhook__last")
      .getByText(/Delivered · HTTP 200/)
      .waitFor();

    // Disabled: the API says so.
    await cardButton(page, "Disable").click();
    await page.getByRole("status").filter({ hasText: "Webhook disabled." }).waitFor();
    await card(page).locator(".badge", { hasText: "Disabled" }).waitFor();
    assert.equal((await api.request<ShownWebhook[]>("GET", "/webhooks"))[0]?.enabled, false);
    await cardButton(page, "Enable").click();
    await page.getByRole("status").filter({ hasText: "Webhook enabled." }).waitFor();

    // Edited: another kind, and one person's changes only.
    await cardButton(page, "Edit").click();
    const edit = page.getByRole("form", { name: "Edit webhook" });
    await edit.getByRole("checkbox", { name: "note.updated" }).check();
    await edit.getByLabel("Only this person's changes (optional)").fill(String(SEED.bunny.id));
    await edit.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Webhook saved." }).waitFor();
    await card(page).getByText("note.created, note.updated").waitFor();
    const edited = (await api.request<ShownWebhook[]>("GET", "/webhooks"))[0];
    assert.deepEqual(edited?.events, ["note.created", "note.updated"]);
    assert.equal(edited?.person_id, SEED.bunny.id);

    // Sent again from the delivered change: the same webhook-id a second time. A revision not
    // reached yet is refused with the server's words.
    const replayField = page.getByLabel("Send again from revision");
    await replayField.fill("999999999");
    await page.getByRole("button", { name: "Replay" }).click();
    await page.getByRole("alert").filter({ hasText: "Revision 999999999 has not been reached" }).waitFor();
    await deliveries
      .getByRole("button", { name: /^Send again from here/ })
      .first()
      .click();
    await page
      .getByRole("status")
      .filter({ hasText: /Sending again from revision \d+\./ })
      .waitFor();
    await receiver.until(() => receiver.received.length >= 2, "the replayed delivery");
    assert.equal(receiver.received[1]?.headers["webhook-id"], first.headers["webhook-id"]);
    await page.getByRole("button", { name: "Refresh" }).click();
    await deliveries
      .getByText(/^Delivered · HTTP 200/)
      .nth(1)
      .waitFor();

    // Rotated with an overlap: a new secret, once; the old one signs too until the overlap ends.
    await cardButton(page, "Rotate secret").click();
    await page.getByLabel("The old secret keeps signing for").selectOption({ label: "1 hour" });
    await page.getByRole("form", { name: "Rotate secret" }).getByRole("button", { name: "Rotate secret" }).click();
    const rotatedField = page.getByLabel(/The new signing secret of .*shown this once/);
    await rotatedField.waitFor();
    const rotated = await rotatedField.inputValue();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    await card(page).getByText("signs too until").waitFor();
    assert.ok((await api.request<ShownWebhook[]>("GET", "/webhooks"))[0]?.previous_secret_expires_at);
    await page.getByRole("button", { name: "Done" }).click();

    // 360 pixels wide: nothing cut off sideways, the link on screen, nothing serious for axe.
    const phone = await e2e.openPage({ viewport: { width: 360, height: 760 }, bypassCSP: true });
    await phone.context.addInitScript((kept) => sessionStorage.setItem("people-notes.token", kept), admin.token);
    await phone.page.goto("/webhooks");
    await cardButton(phone.page, "Deliveries").click();
    await phone.page
      .getByRole("list", { name: "Deliveries, newest first" })
      .getByText(/^Delivered/)
      .first()
      .waitFor();
    assert.ok(
      (await phone.page.evaluate(() => document.documentElement.scrollWidth)) <= 360,
      "nothing wider than the screen",
    );
    const link = await banner(phone.page).getByRole("link", { name: "Webhooks" }).boundingBox();
    assert.ok(link && link.x >= 0 && link.x + link.width <= 360, "the Webhooks link is on screen");
    await screenshot(phone.page, "webhooks-360");
    const violations = await seriousAxeViolations(phone.page);
    assert.equal(violations.length, 0, describeViolations(violations));

    // Deleted, after asking.
    await cardButton(page, "Delete").click();
    await page
      .getByRole("dialog", { name: "Delete this webhook?" })
      .getByRole("button", { name: "Delete webhook" })
      .click();
    await page.getByRole("status").filter({ hasText: "Webhook deleted." }).waitFor();
    await page.getByText("No webhooks yet.").waitFor();
    assert.deepEqual(await api.request<ShownWebhook[]>("GET", "/webhooks"), []);
    // The two refusals above are the browser's only complaints.
    assert.deepEqual(
      errors.filter((error) => !/status of 400/.test(error)),
      [],
    );
  });

  /** An admin's page at /webhooks, signed in with a token of its own. */
  async function openAsAdmin(name: string) {
    const admin = await e2e.createToken("admin", name);
    const api = e2e.api.withToken(admin.token);
    const watched = await e2e.openPage();
    await watched.context.addInitScript((kept) => sessionStorage.setItem("people-notes.token", kept), admin.token);
    return { api, ...watched };
  }

  const newWebhook = (url: string) => ({ url, events: ["note.created"], person_id: null, enabled: true });

  test("a read answered after an action's own read never shows what the action changed", async () => {
    const { api, page, errors } = await openAsAdmin("late reads");
    const hook = await api.request<ShownWebhook>("POST", "/webhooks", newWebhook(receiver.url));
    const reads = watchReads(page);
    await page.goto("/webhooks");
    await card(page).locator(".badge", { hasText: "Enabled" }).waitFor();
    await cardButton(page, "Deliveries").click();
    const deliveries = page.getByRole("region", { name: "Recent deliveries" });
    await deliveries.getByText("Nothing sent yet.").waitFor();
    await reads.quiet();

    // A read (the log's Refresh, as the 5 s timer would) whose answers leave the server before the
    // action and arrive after the action's own read has been shown.
    const late = gate();
    const fetched: Promise<unknown>[] = [];
    let holding = true;
    await page.route("**/api/webhooks**", (route) => {
      if (!holding || route.request().method() !== "GET") return route.continue();
      const answer = route.fetch();
      fetched.push(answer);
      return answer.then(async (response) => {
        await late.opened();
        await route.fulfill({ response });
      });
    });
    const listAsked = page.waitForRequest((request) => new URL(request.url()).pathname === "/api/webhooks");
    await deliveries.getByRole("button", { name: "Refresh" }).click();
    await listAsked;
    await settle(page);
    await Promise.all(fetched);
    holding = false;

    // Meanwhile a note is delivered, and the endpoint is disabled on the page.
    const before = receiver.received.length;
    await api.createNote(SEED.bunny.id, "Delivered while a read was slow");
    await receiver.until(() => receiver.received.length > before, "the delivery");
    await eventually(
      () => api.request<ShownDelivery[]>("GET", `/webhooks/${hook.webhook_id}/deliveries`),
      (shown) => shown.length > 0,
      "the delivery logged",
    );
    await cardButton(page, "Disable").click();
    await page.getByRole("status").filter({ hasText: "Webhook disabled." }).waitFor();
    await card(page).locator(".badge", { hasText: "Disabled" }).waitFor();
    await deliveries.getByText(/^Delivered · HTTP 200/).waitFor();
    await card(page)
      .locator(".webhook__last")
      .getByText(/Delivered · HTTP 200/)
      .waitFor();

    // The old answers arrive last, and change nothing.
    late.open();
    await reads.quiet();
    assert.equal(await card(page).locator(".badge").textContent(), "Disabled");
    assert.match((await card(page).locator(".webhook__last").textContent()) ?? "", /Delivered · HTTP 200/);
    assert.equal(await deliveries.getByText(/^Delivered · HTTP 200/).count(), 1);
    assert.equal(await deliveries.getByText("Nothing sent yet.").count(), 0);

    await api.request("DELETE", `/webhooks/${hook.webhook_id}`);
    assert.deepEqual(errors, []);
  });

  test("each refresh reads the open endpoint's deliveries once, and the others' newest", async () => {
    const { api, page, errors } = await openAsAdmin("one read each");
    const first = await api.request<ShownWebhook>("POST", "/webhooks", newWebhook(`${receiver.url}?first`));
    const second = await api.request<ShownWebhook>("POST", "/webhooks", newWebhook(`${receiver.url}?second`));
    const reads = watchReads(page);
    await page.goto("/webhooks");
    await card(page).nth(1).waitFor();
    await reads.quiet();

    const firstCard = page.locator(`#webhook-${first.webhook_id}`);
    await firstCard.getByRole("button", { name: /^Deliveries / }).click();
    await firstCard.getByText("Nothing sent yet.").waitFor();
    await reads.quiet();
    const from = reads.reads.length;
    await firstCard.getByRole("button", { name: "Refresh" }).click();
    await reads.quiet();

    // Every refresh (Refresh, and any the timer made meanwhile) reads the list once,
    // the open log once (its first entry is the endpoint's newest attempt), and the other endpoint's
    // newest attempt once.
    const asked = reads.since(from);
    const of = (hook: ShownWebhook) => asked.filter((path) => path.startsWith(`/api/webhooks/${hook.webhook_id}/`));
    const refreshes = asked.filter((path) => path === "/api/webhooks").length;
    assert.ok(refreshes >= 1, `at least the one asked for: ${asked.join(", ")}`);
    const openLog = `/api/webhooks/${first.webhook_id}/deliveries?limit=${DELIVERIES_SHOWN}`;
    assert.deepEqual(of(first), Array(refreshes).fill(openLog), asked.join(", "));
    const newest = `/api/webhooks/${second.webhook_id}/deliveries?limit=1`;
    assert.deepEqual(of(second), Array(refreshes).fill(newest), asked.join(", "));

    await api.request("DELETE", `/webhooks/${first.webhook_id}`);
    await api.request("DELETE", `/webhooks/${second.webhook_id}`);
    assert.deepEqual(errors, []);
  });

  test("the timer starts no read while the newest one is unanswered", async () => {
    const { api, page, errors } = await openAsAdmin("slow reads");
    const hook = await api.request<ShownWebhook>("POST", "/webhooks", newWebhook(`${receiver.url}?slow`));
    await page.clock.install();
    const reads = watchReads(page);
    await page.goto("/webhooks");
    await card(page).waitFor();
    await reads.quiet();
    const lists = () => reads.reads.filter((request) => new URL(request.url()).pathname === "/api/webhooks").length;

    // The timer's read goes unanswered while two more of its periods pass.
    const slow = gate();
    await page.route("**/api/webhooks", slow.pass);
    const asked = page.waitForRequest((request) => new URL(request.url()).pathname === "/api/webhooks");
    await page.clock.runFor(REFRESH_MS);
    await asked;
    await settle(page);
    const held = lists();
    await page.clock.runFor(2 * REFRESH_MS);
    await settle(page);
    assert.equal(lists(), held, "no read while the timer's is unanswered");

    slow.open();
    await reads.quiet();
    await page.clock.runFor(REFRESH_MS);
    await reads.quiet();
    assert.ok(lists() > held, "the timer reads again once answered");

    await api.request("DELETE", `/webhooks/${hook.webhook_id}`);
    assert.deepEqual(errors, []);
  });
});
