import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { gate, goWithinApp, screenshot, settle, useE2E, type WatchedPage } from "./support.js";

describe("people page", () => {
  const e2e = useE2E();
  let watched: WatchedPage;

  async function open(path = "/people"): Promise<Page> {
    watched = await e2e.openPage();
    await watched.page.goto(path);
    await watched.page.locator(".person-row").first().waitFor();
    return watched.page;
  }

  const names = (page: Page) => page.locator(".person-row__name").allTextContents();
  const firstName = (page: Page) => page.getByLabel("First name");
  const lastName = (page: Page) => page.getByLabel("Last name");
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);

  test("lists people sorted by last name, each with a link to their notes", async () => {
    const page = await open();
    assert.deepEqual(await names(page), ["Kent Brockman", "Bunny Easter", "Doug Farrell"]);
    const row = page.locator(".person-row", { hasText: "Bunny Easter" });
    const time = row.locator("time");
    assert.match((await time.getAttribute("title")) ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(await time.getAttribute("datetime"), await time.getAttribute("title"));
    await screenshot(page, "people");
    await row.getByRole("link", { name: "Notes by Bunny Easter" }).click();
    await page.waitForURL("**/people/3/notes");
    await page.getByRole("heading", { level: 1, name: "Bunny Easter" }).waitFor();
    assert.deepEqual(watched.errors, []);
  });

  test("adds a person with the keyboard alone, then clears the form for the next one", async () => {
    const page = await open();
    await firstName(page).focus();
    await page.keyboard.type("Homer");
    await page.keyboard.press("Tab");
    assert.equal(await focusedId(page), "person-lname");
    await page.keyboard.type("Simpson");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Added Homer Simpson." }).waitFor();
    await page.locator(".person-row__name", { hasText: "Homer Simpson" }).waitFor();
    assert.deepEqual(await names(page), ["Kent Brockman", "Bunny Easter", "Doug Farrell", "Homer Simpson"]);
    assert.equal(await firstName(page).inputValue(), "");
    assert.equal(await lastName(page).inputValue(), "");
    assert.equal(await focusedId(page), "person-fname");
    assert.deepEqual(watched.dialogs, []);
  });

  test("shows field errors inline, without alert() and without calling the API", async () => {
    const page = await open();
    const writes: string[] = [];
    page.on("request", (request) => {
      if (request.method() !== "GET") writes.push(request.url());
    });
    await page.getByRole("button", { name: "Add person" }).click();
    await page.getByText("Enter a first name.").waitFor();
    await page.getByText("Enter a last name.").waitFor();
    assert.equal(await firstName(page).getAttribute("aria-invalid"), "true");
    assert.equal(await focusedId(page), "person-fname");
    // The error is part of the field's accessible description.
    const describedBy = (await firstName(page).getAttribute("aria-describedby")) ?? "";
    assert.ok(describedBy.split(" ").includes("person-fname-error"));

    await firstName(page).fill("   ");
    await page.getByText("Enter a first name.").waitFor();
    await firstName(page).fill("Marge");
    await lastName(page).fill("B".repeat(33));
    await page.getByText("Use at most 32 characters (now 33).").waitFor();
    assert.equal(await page.getByText("Enter a first name.").count(), 0);
    await screenshot(page, "people-field-errors");
    await page.getByRole("button", { name: "Add person" }).click();
    assert.equal(await focusedId(page), "person-lname");
    await lastName(page).fill("B".repeat(32));
    assert.equal(await page.locator(".field__error").count(), 0);
    assert.deepEqual(writes, []);
    assert.deepEqual(watched.dialogs, []);
  });

  test("keeps a refused name in the form and the server's message on screen until dismissed", async () => {
    const page = await open();
    await firstName(page).fill("doug");
    await lastName(page).fill("FARRELL");
    await page.getByRole("button", { name: "Add person" }).click();
    const problem = page.locator(".problem");
    // The person who has the name, as stored, not the spelling typed.
    await problem.getByText("Doug Farrell already exists").waitFor();
    assert.equal(await problem.getAttribute("role"), "alert");
    assert.equal(await firstName(page).inputValue(), "doug");
    assert.equal(await lastName(page).inputValue(), "FARRELL");
    await screenshot(page, "people-conflict");

    // It does not fade: editing the form and moving focus leave it in place.
    await lastName(page).fill("Farrel");
    await page.getByRole("link", { name: "Doug Farrell", exact: true }).focus();
    assert.equal(await problem.isVisible(), true);

    await problem.getByRole("button", { name: "Dismiss" }).click();
    await problem.waitFor({ state: "detached" });
    assert.equal(await focusedId(page), "person-fname");

    // A second refusal shows again (the tutorial's banner worked only once per page load).
    await firstName(page).fill("Doug");
    await lastName(page).fill("Farrell");
    await page.getByRole("button", { name: "Add person" }).click();
    await problem.getByText("Doug Farrell already exists").waitFor();

    // Fixing the input and saving clears it.
    await lastName(page).fill("Farrell Jr");
    await page.getByRole("button", { name: "Add person" }).click();
    await page.locator(".person-row__name", { hasText: "Doug Farrell Jr" }).waitFor();
    // The new row can come by the live updates before the answer to the save, which clears the message.
    await page.getByRole("status").filter({ hasText: "Added Doug Farrell Jr." }).waitFor();
    assert.equal(await problem.count(), 0);
  });

  test("keeps the input while the server is answering, and clears it only on success", async () => {
    const page = await open();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/api/people", async (route) => {
      if (route.request().method() === "POST") await held;
      await route.continue();
    });
    await firstName(page).fill("Lisa");
    await lastName(page).fill("Simpson");
    const posted = page.waitForRequest((request) => request.method() === "POST");
    await page.getByRole("button", { name: "Add person" }).click();
    await posted;
    await page.getByRole("button", { name: "Saving…" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Saving…" }).isDisabled(), true);
    assert.equal(await firstName(page).inputValue(), "Lisa");
    assert.equal(await lastName(page).inputValue(), "Simpson");
    release();
    await page.getByRole("status").filter({ hasText: "Added Lisa Simpson." }).waitFor();
    assert.equal(await firstName(page).inputValue(), "");
  });

  test("on a phone a notice covers no control, and an error takes the place of the notice before it", async () => {
    const person = await e2e.api.createPerson("Toast", "Reader");
    const { page } = await e2e.openPage({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
    await page.goto(`/people/${person.person_id}`);
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    // The reader has scrolled the end of the form into view, where a notice at the bottom would sit.
    await page.locator(".editor__notes-link").evaluate((link) => link.scrollIntoView({ block: "end" }));
    await firstName(page).fill("Toasted");
    await page.getByRole("button", { name: "Save changes" }).tap();
    const toast = page.locator(".toast");
    await toast.filter({ hasText: "Saved Toasted Reader." }).waitFor();
    const covered = await toast.evaluate((shown) => {
      const box = shown.getBoundingClientRect();
      const controls = [...document.querySelectorAll<HTMLElement>("main a, main button, main input")];
      return controls
        .filter((control) => {
          const r = control.getBoundingClientRect();
          return r.width > 0 && r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top;
        })
        .map((control) => control.textContent?.trim() || control.id);
    });
    assert.deepEqual(covered, [], "no control of the page is under the notice");

    await firstName(page).fill("Doug");
    await lastName(page).fill("Farrell");
    await page.getByRole("button", { name: "Save changes" }).tap();
    await page.locator(".problem").getByText("Doug Farrell already exists").waitFor();
    assert.equal(await toast.count(), 0, "the notice of the save before is gone");
    await page.getByRole("link", { name: "View Toasted Reader's notes" }).tap();
    await page.getByRole("heading", { level: 1, name: "Toasted Reader" }).waitFor();
  });

  test("edits a person chosen with a visible link, and refuses a name someone else has", async () => {
    const page = await open();
    await page.getByRole("link", { name: "Kent Brockman", exact: true }).click();
    await page.waitForURL("**/people/2");
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    assert.equal(await firstName(page).inputValue(), "Kent");
    assert.equal(await focusedId(page), "person-fname");
    assert.equal(await page.locator(".person-row--selected .person-row__name").textContent(), "Kent Brockman");
    assert.equal(await page.title(), "Edit Kent Brockman · People & Notes");
    await screenshot(page, "person-edit");

    await firstName(page).fill("Bunny");
    await lastName(page).fill("Easter");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator(".problem").getByText("Bunny Easter already exists").waitFor();
    assert.equal(await firstName(page).inputValue(), "Bunny");

    await firstName(page).fill("Kenneth");
    await lastName(page).fill("Brockman");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved Kenneth Brockman." }).waitFor();
    await page.locator(".person-row__name", { hasText: "Kenneth Brockman" }).waitFor();
    assert.equal(await page.locator(".problem").count(), 0);
    assert.equal(page.url(), `${e2e.origin}/people/2`);

    await page.getByRole("link", { name: "Cancel" }).click();
    await page.waitForURL("**/people");
    await page.getByRole("heading", { name: "Add a person" }).waitFor();
    assert.equal(await firstName(page).inputValue(), "");
  });

  test("asks before deleting, in an accessible dialog; Escape and Cancel keep the person", async () => {
    const person = await e2e.api.createPerson("Temp", "Person");
    const page = await open(`/people/${person.person_id}`);
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    const deleteButton = page.getByRole("button", { name: "Delete", exact: true });

    await deleteButton.click();
    const dialog = page.getByRole("dialog", { name: "Delete Temp Person?" });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /Their notes will be deleted too/);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Cancel");
    await screenshot(page, "people-confirm-delete");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Delete");

    await deleteButton.click();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    const still = await fetch(`${e2e.origin}/api/people/${person.person_id}`);
    assert.equal(still.status, 200);

    await deleteButton.click();
    await dialog.getByRole("button", { name: "Delete person" }).click();
    await page.getByRole("status").filter({ hasText: "Deleted Temp Person." }).waitFor();
    await page.waitForURL("**/people");
    await page.locator(".person-row__name", { hasText: "Temp Person" }).waitFor({ state: "detached" });
    assert.equal(await focusedId(page), "people-heading");
    const gone = await fetch(`${e2e.origin}/api/people/${person.person_id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(watched.dialogs, []);
  });

  test("opens the chosen person's notes from the editor", async () => {
    const page = await open("/people/1");
    await page.getByRole("link", { name: "View Doug Farrell's notes" }).click();
    await page.waitForURL("**/people/1/notes");
    await page.getByRole("heading", { level: 1, name: "Doug Farrell" }).waitFor();
  });

  test("shows names exactly as typed, even ones that look like values", async () => {
    const person = await e2e.api.createPerson("null", "123");
    const page = await open(`/people/${person.person_id}`);
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    assert.equal(await firstName(page).inputValue(), "null");
    assert.equal(await lastName(page).inputValue(), "123");
    await page.getByRole("link", { name: "null 123", exact: true }).click();
    assert.equal(await firstName(page).inputValue(), "null");
    await e2e.api.deletePerson(person.person_id);
  });

  test("a slow answer for a person already left never overwrites the one chosen since", async () => {
    const { page } = await e2e.openPage();
    const hold = gate();
    await page.route("**/api/people/1", hold.pass);
    await page.route("**/api/people?*", hold.pass);
    await page.goto("/people/1");
    await page.getByRole("status").filter({ hasText: "Loading person…" }).waitFor();
    await goWithinApp(page, "/people/3");
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    assert.equal(await firstName(page).inputValue(), "Bunny");
    const stale = page.waitForResponse((response) => response.url().endsWith("/api/people/1"));
    hold.open();
    await (await stale).finished();
    await page.locator(".person-row").first().waitFor();
    await settle(page);
    assert.equal(await firstName(page).inputValue(), "Bunny");
    assert.equal(await lastName(page).inputValue(), "Easter");
    assert.equal(await page.locator(".person-row--selected .person-row__name").textContent(), "Bunny Easter");
  });

  test("a deep link to a missing person says so", async () => {
    const { page } = await e2e.openPage();
    await page.goto("/people/9999");
    await page.getByText("Person not found for Id: 9999").waitFor();
    await page.getByRole("link", { name: "Add a person instead" }).click();
    await page.getByRole("heading", { name: "Add a person" }).waitFor();
  });

  test("shows an empty state and a retryable error state", async () => {
    const { page } = await e2e.openPage();
    let mode: "empty" | "error" = "error";
    await page.route("**/api/people?*", (route) =>
      mode === "error"
        ? route.fulfill({ status: 500, contentType: "text/html", body: "<h1>oops</h1>" })
        : route.fulfill({
            status: 200,
            contentType: "application/json",
            headers: { "x-total-count": "0" },
            body: "[]",
          }),
    );
    await page.goto("/people");
    await page.getByRole("alert").filter({ hasText: "Couldn't load people" }).waitFor();
    assert.match((await page.locator(".state--error").textContent()) ?? "", /The server answered 500/);
    mode = "empty";
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByText("No people yet").waitFor();
  });

  test("pages through a long list with Load more", async () => {
    const created = [];
    for (let n = 10; n < 35; n++) created.push(await e2e.api.createPerson("Zed", `Zulu${n}`));
    const page = await open();
    const rows = page.locator(".person-row");
    const total = (await (await fetch(`${e2e.origin}/api/people?limit=1`)).headers.get("x-total-count")) ?? "";
    await page.getByText(`Showing 20 of ${total} people`).waitFor();
    assert.equal(await rows.count(), 20);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText(`Showing ${total} of ${total} people`).waitFor();
    const shown = await names(page);
    assert.equal(shown.length, Number(total));
    assert.equal(shown.at(-1), "Zed Zulu34");
    assert.deepEqual(
      shown,
      [...shown].sort((a, b) => a.split(" ")[1]?.localeCompare(b.split(" ")[1] ?? "") ?? 0),
    );
    assert.equal(await page.getByRole("button", { name: "Load more" }).count(), 0);
    for (const person of created) await e2e.api.deletePerson(person.person_id);
  });
});
