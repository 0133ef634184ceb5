import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page, Route } from "playwright-core";
import { WAIT_LIMIT_MS } from "../support/limits.js";
import { describeViolations, screenshot, seriousAxeViolations, useE2E } from "./support.js";

const banner = (page: Page) => page.getByRole("banner");
const signInDialog = (page: Page) => page.getByRole("dialog", { name: "Sign in" });
const noteField = (page: Page) => page.getByLabel("Note", { exact: true });
const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent?.trim());
const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);

/** Everything the page keeps in the browser, to see where a token went. */
const storage = (page: Page) =>
  page.evaluate(() => ({ session: Object.values(sessionStorage), local: Object.values(localStorage) }));

async function signIn(page: Page, token: string): Promise<void> {
  await banner(page).getByRole("button", { name: "Sign in" }).click();
  const dialog = signInDialog(page);
  await dialog.getByRole("button", { name: "Sign in with a token" }).click();
  await dialog.getByLabel("Token").fill(token);
  await dialog.getByRole("button", { name: "Sign in" }).click();
  await dialog.waitFor({ state: "hidden" });
}

/** How many rows the top bar's parts (brand, navigation, live status, account) take. */
const topBarRows = (page: Page) =>
  page.locator(".topbar__inner").evaluate((bar) => {
    const rows: { top: number; bottom: number }[] = [];
    for (const part of bar.children) {
      const { top, bottom, height } = part.getBoundingClientRect();
      if (height === 0) continue;
      const row = rows.find((each) => top < each.bottom && bottom > each.top);
      if (row) Object.assign(row, { top: Math.min(row.top, top), bottom: Math.max(row.bottom, bottom) });
      else rows.push({ top, bottom });
    }
    return rows.length;
  });

/** The buttons and links that change something, on whatever page is shown. */
async function writeControls(page: Page): Promise<string[]> {
  const names = ["Add note", "Save note", "Add person", "Save changes", "Delete", "Edit note", "Edit person"];
  const found: string[] = [];
  for (const name of names) {
    const count =
      (await page.getByRole("button", { name, exact: true }).count()) +
      (await page.getByRole("link", { name, exact: true }).count());
    if (count > 0) found.push(name);
  }
  return found;
}

describe("signing in with a token", () => {
  const e2e = useE2E();

  test("a person token writes on its own page, and is offered no change to anyone else's", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const api = e2e.api.withToken(admin.token);
    const me = await api.createPerson("Pat", "Writer");
    const other = await api.createPerson("Olive", "Other");
    const theirs = await api.createNote(other.person_id, "Not yours to change");
    const mine = await e2e.createToken({ person: me.person_id }, "Pat's laptop");
    const { page, errors } = await e2e.openPage();

    await page.goto(`/people/${me.person_id}/notes`);
    const notice = page.getByText("Sign in as Pat Writer or as an admin to write notes here.");
    await notice.waitFor();
    assert.deepEqual(await writeControls(page), [], "signed out, nothing that writes is offered");

    await page.locator(".notice").getByRole("button", { name: "Sign in" }).click();
    const dialog = signInDialog(page);
    await dialog.waitFor();
    assert.equal(await focusedId(page), "sign-in-passkey", "the dialog opens with focus on the passkey button");
    await dialog.getByRole("button", { name: "Sign in with a token" }).click();
    assert.equal(await focusedId(page), "sign-in-token", "then on the token");
    await page.keyboard.insertText(mine.token);
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await banner(page).getByText("Signed in as Pat Writer", { exact: true }).waitFor();
    await page.getByRole("status").filter({ hasText: "Signed in as Pat Writer." }).waitFor();
    assert.equal(await focusedId(page), "note-content", "focus goes on to the form signing in opened");
    await banner(page).getByRole("button", { name: "Sign out" }).waitFor();

    const kept = await storage(page);
    assert.ok(kept.session.includes(mine.token), "the token is kept for the tab");
    assert.deepEqual(kept.local, [], "nothing in localStorage");
    assert.ok(!page.url().includes(mine.token), "never in the address");

    await page.reload();
    await banner(page).getByText("Signed in as Pat Writer", { exact: true }).waitFor();
    const posted = page.waitForRequest((request) => request.method() === "POST");
    await noteField(page).fill("Signed and sealed");
    await page.getByRole("button", { name: "Add note" }).click();
    assert.equal((await posted).headers().authorization, `Bearer ${mine.token}`);
    await page.getByRole("status").filter({ hasText: "Note added." }).waitFor();
    await page.locator(".note-row__content", { hasText: "Signed and sealed" }).waitFor();
    assert.deepEqual(await writeControls(page), ["Add note", "Edit note", "Edit person"]);

    await page.goto(`/people/${other.person_id}/notes`);
    await page.getByText("You are signed in as Pat Writer, and may write only your own notes.").waitFor();
    await page.locator(".note-row__content", { hasText: "Not yours to change" }).waitFor();
    assert.deepEqual(await writeControls(page), [], "someone else's notes offer no change");
    await screenshot(page, "sign-in-other-person");

    await page.goto(`/people/${other.person_id}/notes/${theirs.note_id}`);
    await page.locator(".editor__content", { hasText: "Not yours to change" }).waitFor();
    assert.deepEqual(await writeControls(page), [], "someone else's note opens read-only");

    await page.goto(`/people/${other.person_id}`);
    await page.getByText("You may change only your own names.").waitFor();
    assert.deepEqual(await writeControls(page), []);
    await page.getByRole("link", { name: "Change your names" }).click();
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    assert.deepEqual(await writeControls(page), ["Save changes"], "own names, but deleting people is for admins");
    await page.goto("/people");
    await page.getByText("Only an admin may add people.").waitFor();
    assert.deepEqual(await writeControls(page), []);
    assert.deepEqual(errors, []);
  });

  test("a change the server forbids (403) says why, keeps the draft and stays signed in", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const api = e2e.api.withToken(admin.token);
    const me = await api.createPerson("Fran", "Forbidden");
    const other = await api.createPerson("Gus", "Guarded");
    const mine = await e2e.createToken({ person: me.person_id }, "Fran's phone");
    const { page } = await e2e.openPage();
    await page.goto(`/people/${me.person_id}/notes`);
    await signIn(page, mine.token);
    // No control on the page reaches another person, so the request is sent there on its way.
    await page.route(`**/api/people/${me.person_id}/notes`, (route) =>
      route.request().method() === "POST"
        ? route.continue({
            url: route.request().url().replace(`/people/${me.person_id}/`, `/people/${other.person_id}/`),
          })
        : route.continue(),
    );
    await noteField(page).fill("Meant for Gus");
    await page.getByRole("button", { name: "Add note" }).click();
    const problem = page.locator(".problem");
    await problem.getByText(`may change only person ${me.person_id} and their notes`).waitFor();
    assert.equal(await problem.getAttribute("role"), "alert");
    assert.equal(await noteField(page).inputValue(), "Meant for Gus");
    assert.equal(await signInDialog(page).count(), 0, "a 403 does not sign out");
    await banner(page).getByText("Signed in as Fran Forbidden", { exact: true }).waitFor();
    const others = await fetch(`${e2e.origin}/api/people/${other.person_id}/notes`).then((r) => r.json());
    assert.deepEqual(others, []);
  });

  test("an admin token is offered every control; signing out leaves the pages read-only", async () => {
    const admin = await e2e.createToken("admin", "ops");
    const api = e2e.api.withToken(admin.token);
    const person = await api.createPerson("Ada", "Audited");
    const note = await api.createNote(person.person_id, "Any note will do");
    const { page } = await e2e.openPage();
    await page.goto("/people");
    await page.getByText("Sign in as an admin to add people.").waitFor();
    assert.deepEqual(await writeControls(page), []);

    await signIn(page, admin.token);
    await banner(page).getByText("Signed in as Admin", { exact: true }).waitFor();
    assert.equal(await focusedText(page), "Sign out");
    assert.deepEqual(await writeControls(page), ["Add person"]);
    await page.goto(`/people/${person.person_id}`);
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    assert.deepEqual(await writeControls(page), ["Save changes", "Delete"]);
    await page.goto(`/people/${person.person_id}/notes/${note.note_id}`);
    await page.getByRole("button", { name: "Save note" }).waitFor();
    // The list, with its Edit note links, loads apart from the note.
    await page.locator(".note-row").first().waitFor();
    assert.deepEqual(await writeControls(page), ["Save note", "Delete", "Edit note", "Edit person"]);
    await screenshot(page, "sign-in-admin");

    await banner(page).getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("status").filter({ hasText: "Signed out." }).waitFor();
    await banner(page).getByRole("button", { name: "Sign in" }).waitFor();
    assert.equal(await focusedText(page), "Sign in");
    assert.deepEqual(await storage(page), { session: [], local: [] });
    await page.locator(".editor__content", { hasText: "Any note will do" }).waitFor();
    assert.deepEqual(await writeControls(page), [], "signed out, the note is shown read-only");
    await page.goto("/");
    await page.locator(".note-card", { hasText: "Any note will do" }).waitFor();
  });

  test("a refused token shows the server's words in the form; Escape closes it and gives focus back", async () => {
    await e2e.createToken("admin", "still in use");
    const revoked = await e2e.createToken("admin", "old laptop");
    await e2e.revokeToken(revoked.id);
    const { page } = await e2e.openPage();
    await page.goto("/");
    await banner(page).getByRole("button", { name: "Sign in" }).click();
    const dialog = signInDialog(page);
    await dialog.getByRole("button", { name: "Sign in with a token" }).click();
    const token = dialog.getByLabel("Token");
    const sessionReads: string[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/api/account")) sessionReads.push(request.url());
    });

    await dialog.getByRole("button", { name: "Sign in" }).click();
    await dialog.getByText("Paste your token.").waitFor();
    assert.deepEqual(sessionReads, [], "an empty token is not sent");

    await token.fill(revoked.token);
    await dialog.getByRole("button", { name: "Sign in" }).click();
    await dialog.getByText("The token is unknown, revoked or expired").waitFor();
    assert.equal(await token.getAttribute("aria-invalid"), "true");
    assert.ok(((await token.getAttribute("aria-describedby")) ?? "").includes("sign-in-token-error"));
    assert.equal(await focusedId(page), "sign-in-token");
    await screenshot(page, "sign-in-refused");

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    assert.equal(await focusedText(page), "Sign in", "focus is back on the button that opened it");
    await banner(page).getByRole("button", { name: "Sign in" }).waitFor();
    assert.deepEqual(await storage(page), { session: [], local: [] });
  });

  test("a token revoked while signed in asks for a sign-in on the next write, keeping the draft", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const me = await e2e.api.withToken(admin.token).createPerson("Rory", "Revoked");
    const first = await e2e.createToken({ person: me.person_id }, "Rory's old phone");
    const { page } = await e2e.openPage();
    await page.goto(`/people/${me.person_id}/notes`);
    await signIn(page, first.token);
    await noteField(page).fill("Written before and after");

    await e2e.revokeToken(first.id);
    await page.getByRole("button", { name: "Add note" }).click();
    const dialog = signInDialog(page);
    await dialog.getByText("The token is unknown, revoked or expired").waitFor();
    assert.equal(await focusedId(page), "sign-in-token");
    await banner(page).getByRole("button", { name: "Sign in" }).waitFor({ state: "attached" });
    assert.deepEqual(await storage(page), { session: [], local: [] }, "the refused token is forgotten");
    await screenshot(page, "sign-in-again");

    const second = await e2e.createToken({ person: me.person_id }, "Rory's new phone");
    await dialog.getByLabel("Token").fill(second.token);
    await dialog.getByRole("button", { name: "Sign in" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal(await focusedId(page), "note-content");
    assert.equal(await noteField(page).inputValue(), "Written before and after");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.locator(".note-row__content", { hasText: "Written before and after" }).waitFor();
  });

  test("a kept token revoked before the page loads again is forgotten, with a word why", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const me = await e2e.api.withToken(admin.token).createPerson("Lou", "Lapsed");
    const mine = await e2e.createToken({ person: me.person_id }, "Lou's tablet");
    const { page } = await e2e.openPage();
    await page.goto(`/people/${me.person_id}/notes`);
    await signIn(page, mine.token);
    await noteField(page).waitFor();

    await e2e.revokeToken(mine.id);
    await page.reload();
    await page
      .getByRole("status")
      .filter({ hasText: "Signed out: The token is unknown, revoked or expired" })
      .waitFor();
    await banner(page).getByRole("button", { name: "Sign in" }).waitFor();
    await page.getByText("Sign in as Lou Lapsed or as an admin to write notes here.").waitFor();
    assert.deepEqual(await storage(page), { session: [], local: [] });
    assert.deepEqual(await writeControls(page), []);
  });

  test("signed out, signing in, and signed in: no serious axe violation, and it fits 360 pixels", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const long = await e2e.api.withToken(admin.token).createPerson("W".repeat(32), "M".repeat(32));
    const theirs = await e2e.createToken({ person: long.person_id }, "long names");
    const { page } = await e2e.openPage({
      bypassCSP: true,
      viewport: { width: 360, height: 760 },
      isMobile: true,
      hasTouch: true,
    });
    const check = async (label: string) => {
      const violations = await seriousAxeViolations(page);
      assert.equal(violations.length, 0, `${label}:\n${describeViolations(violations)}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - 360);
      assert.ok(overflow <= 0, `${label} is ${overflow}px wider than the screen`);
      assert.equal(await topBarRows(page), 1, `${label}: the top bar is one row`);
    };
    await page.goto(`/people/${long.person_id}/notes`);
    await page.locator(".notice").waitFor();
    await page.locator('[data-live="live"]').waitFor();
    await check("signed out");
    await banner(page).getByRole("button", { name: "Sign in" }).tap();
    await signInDialog(page).getByRole("button", { name: "Sign in with a token" }).tap();
    await signInDialog(page).getByRole("button", { name: "Sign in" }).tap();
    await signInDialog(page).getByText("Paste your token.").waitFor();
    await check("sign-in dialog with an error");
    await signInDialog(page).getByLabel("Token").fill(theirs.token);
    await signInDialog(page).getByRole("button", { name: "Sign in" }).tap();
    await banner(page).getByRole("button", { name: "Sign out" }).waitFor();
    await noteField(page).waitFor();
    await check("signed in with the longest names");
    await screenshot(page, "mobile-signed-in");
  });

  test("renaming yourself shows the new name in the navigation bar, as does a rename made elsewhere", async () => {
    const admin = await e2e.createToken("admin", "arranging");
    const api = e2e.api.withToken(admin.token);
    const me = await api.createPerson("Ren", "Before");
    const mine = await e2e.createToken({ person: me.person_id }, "Ren's laptop");
    const { page } = await e2e.openPage();
    // First without live updates: the answer to the save is what renames.
    const noStream = (route: Route) =>
      route.fulfill({ status: 503, contentType: "application/problem+json", body: "{}" });
    await page.route("**/api/events*", noStream);
    await page.goto(`/people/${me.person_id}`);
    await page.locator('[data-live="offline"]').waitFor();
    await signIn(page, mine.token);
    await banner(page).getByText("Signed in as Ren Before", { exact: true }).waitFor();

    await page.getByLabel("First name").fill("Renée");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved Renée Before." }).waitFor();
    await banner(page).getByText("Signed in as Renée Before", { exact: true }).waitFor();

    await page.unroute("**/api/events*", noStream);
    // The stream was refused meanwhile, so its next try can be as far off as the app's longest
    // pause between tries (30 s), however long the steps before took.
    await page.locator('[data-live="live"]').waitFor({ timeout: WAIT_LIMIT_MS });
    await api.request("PUT", `/people/${me.person_id}`, { fname: "Renée", lname: "After" });
    await page.locator(".person-row__name", { hasText: "Renée After" }).waitFor();
    await banner(page).getByText("Signed in as Renée After", { exact: true }).waitFor();
    await page.goto("/people");
    await page.getByText("Only an admin may add people.").waitFor();
    await banner(page).getByText("Signed in as Renée After", { exact: true }).waitFor();
  });
});

describe("while no token exists", () => {
  const e2e = useE2E();

  test("writes need no token: there is no Sign in and every control is offered, as before", async () => {
    const session = await fetch(`${e2e.origin}/api/session`).then((response) => response.json());
    assert.deepEqual(session, { access_control: false, principal: null });
    const { page } = await e2e.openPage();
    await page.goto("/people/1/notes/1");
    await page.getByRole("button", { name: "Save note" }).waitFor();
    // The list, with its Edit note links, loads apart from the note.
    await page.locator(".note-row").first().waitFor();
    assert.deepEqual(await writeControls(page), ["Save note", "Delete", "Edit note", "Edit person"]);
    assert.equal(await page.getByRole("button", { name: "Sign in" }).count(), 0);
    const posted = page.waitForRequest((request) => request.method() === "PUT");
    await page.getByRole("button", { name: "Save note" }).click();
    assert.equal((await posted).headers().authorization, undefined, "no token is sent");
    await page.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
  });
});
