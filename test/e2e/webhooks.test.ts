import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { describeViolations, SEED, screenshot, seriousAxeViolations, useE2E } from "./support.js";

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
});
