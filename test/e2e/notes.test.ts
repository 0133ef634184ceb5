import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { gate, goWithinApp, localTime, SEED, screenshot, settle, useE2E, type WatchedPage } from "./support.js";

describe("notes page", () => {
  const e2e = useE2E();
  let watched: WatchedPage;

  async function open(path: string): Promise<Page> {
    watched = await e2e.openPage();
    await watched.page.goto(path);
    return watched.page;
  }

  const editor = (page: Page) => page.getByLabel("Note", { exact: true });
  const contents = (page: Page) => page.locator(".note-row__content").allTextContents();
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);

  test("shows the person's details and their notes, newest first, with readable local times", async () => {
    const page = await open("/people/1/notes");
    await page.getByRole("heading", { level: 1, name: "Doug Farrell" }).waitFor();
    await page.locator(".note-row").first().waitFor();
    assert.deepEqual(await contents(page), [
      "Well, sort of useful",
      "This could be useful",
      "Cool, a mini-blogging application!",
    ]);
    const facts = page.locator(".person-header__facts");
    assert.match((await facts.textContent()) ?? "", /Person ID:?\s*1/);
    // The person's own timestamp is formatted like every other time (the tutorial showed it raw).
    const personTime = facts.locator("time");
    const iso = (await personTime.getAttribute("datetime")) ?? "";
    assert.equal(await personTime.getAttribute("title"), iso);
    assert.equal(await personTime.textContent(), localTime(iso));
    // The same note shows the same time here as on the home page.
    const noteTime = page.locator(".note-row").last().locator("time");
    assert.equal(await noteTime.textContent(), localTime(SEED.firstNote.iso));
    assert.equal(await noteTime.getAttribute("title"), SEED.firstNote.iso);
    assert.equal(await page.title(), "Doug Farrell's notes · People & Notes");
    await screenshot(page, "notes");
    assert.deepEqual(watched.errors, []);
  });

  test("adds a note, clearing the editor only after the server accepted it", async () => {
    const page = await open("/people/2/notes");
    await page.locator(".note-row").first().waitFor();
    const hold = gate();
    await page.route("**/api/people/2/notes", (route) =>
      route.request().method() === "POST" ? hold.pass(route) : route.continue(),
    );
    await editor(page).fill("  Breaking news: tests pass  ");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.getByRole("button", { name: "Saving…" }).waitFor();
    assert.equal(await editor(page).inputValue(), "  Breaking news: tests pass  ");
    hold.open();
    await page.getByRole("status").filter({ hasText: "Note added." }).waitFor();
    await page.locator(".note-row__content", { hasText: "Breaking news: tests pass" }).waitFor();
    assert.equal((await contents(page))[0], "Breaking news: tests pass");
    assert.equal(await editor(page).inputValue(), "");
    assert.equal(await focusedId(page), "note-content");
  });

  test("shows note errors inline: blank, and longer than 10,000 characters", async () => {
    const page = await open("/people/2/notes");
    await page.locator(".note-row").first().waitFor();
    const writes: string[] = [];
    page.on("request", (request) => {
      if (request.method() !== "GET") writes.push(request.url());
    });
    await page.getByRole("button", { name: "Add note" }).click();
    await page.getByText("Enter some text.").waitFor();
    assert.equal(await editor(page).getAttribute("aria-invalid"), "true");
    assert.equal(await focusedId(page), "note-content");
    await editor(page).fill(" \n\t ");
    await page.getByText("Enter some text.").waitFor();
    await editor(page).fill("x".repeat(10_001));
    await page.getByText("Use at most 10,000 characters (now 10,001).").waitFor();
    await page.getByText("10,001 of 10,000 characters").waitFor();
    await page.getByRole("button", { name: "Add note" }).click();
    await editor(page).fill("x".repeat(10_000));
    assert.equal(await page.locator(".field__error").count(), 0);
    assert.deepEqual(writes, []);
    assert.deepEqual(watched.dialogs, []);
  });

  test("edits a note chosen with a visible link; the changed note moves to the top", async () => {
    const page = await open("/people/1/notes");
    await page.locator(".note-row").first().waitFor();
    const row = page.locator(".note-row", { hasText: "Cool, a mini-blogging application!" });
    await row.getByRole("link", { name: "Edit note" }).click();
    await page.waitForURL("**/people/1/notes/1");
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await editor(page).inputValue(), "Cool, a mini-blogging application!");
    assert.equal(await focusedId(page), "note-content");
    assert.equal(await page.locator(".note-row--selected .note-row__content").textContent(), SEED.firstNote.content);
    await screenshot(page, "note-edit");

    await editor(page).fill("Cool, a mini-blogging application! (edited)");
    await page.getByRole("button", { name: "Save note" }).click();
    await page.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
    await page.locator(".note-row__content", { hasText: "(edited)" }).waitFor();
    // The live update can replace the note where it is before the list, loaded again after the save,
    // moves it to the top.
    await page.locator(".note-row").first().filter({ hasText: "(edited)" }).waitFor();
    assert.equal((await contents(page))[0], "Cool, a mini-blogging application! (edited)");
    const time = page.locator(".note-row").first().locator("time");
    assert.notEqual(await time.getAttribute("datetime"), SEED.firstNote.iso);
    assert.equal(page.url(), `${e2e.origin}/people/1/notes/1`);
  });

  test("asks before deleting a note; cancelling keeps it", async () => {
    const note = await e2e.api.createNote(3, "Delete me, maybe");
    const page = await open(`/people/3/notes/${note.note_id}`);
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this note?" });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /“Delete me, maybe” will be deleted/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await fetch(`${e2e.origin}/api/people/3/notes/${note.note_id}`)).status, 200);

    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await dialog.getByRole("button", { name: "Delete note" }).click();
    await page.getByRole("status").filter({ hasText: "Note deleted." }).waitFor();
    await page.waitForURL("**/people/3/notes");
    await page.locator(".note-row__content", { hasText: "Delete me, maybe" }).waitFor({ state: "detached" });
    assert.equal(await focusedId(page), "notes-heading");
    assert.equal((await fetch(`${e2e.origin}/api/people/3/notes/${note.note_id}`)).status, 404);
    assert.deepEqual(watched.dialogs, []);
  });

  test("an API error stays on screen with the text kept, until dismissed", async () => {
    const person = await e2e.api.createPerson("Gone", "Soon");
    const page = await open(`/people/${person.person_id}/notes`);
    await page.getByText("No notes yet").waitFor();
    await screenshot(page, "notes-empty");
    await e2e.api.deletePerson(person.person_id);
    await editor(page).fill("Written after the author left");
    await page.getByRole("button", { name: "Add note" }).click();
    const problem = page.locator(".problem");
    await problem.getByText(`Person not found for Id: ${person.person_id}`).waitFor();
    assert.equal(await editor(page).inputValue(), "Written after the author left");
    await editor(page).press("End");
    await page.keyboard.type("!");
    assert.equal(await problem.isVisible(), true);
    await problem.getByRole("button", { name: "Dismiss" }).click();
    await problem.waitFor({ state: "detached" });
    assert.equal(await focusedId(page), "note-content");
  });

  test("a deep link shows the right note even when the person loads last", async () => {
    const { page } = await e2e.openPage();
    const hold = gate();
    await page.route("**/api/people/1", hold.pass);
    await page.route("**/api/people/1/notes?*", hold.pass);
    const noteLoaded = page.waitForResponse((response) => response.url().endsWith("/api/people/1/notes/2"));
    await page.goto("/people/1/notes/2");
    await (await noteLoaded).finished();
    hold.open();
    await page.getByRole("heading", { level: 1, name: "Doug Farrell" }).waitFor();
    await page.locator(".note-row").first().waitFor();
    await settle(page);
    assert.equal(await editor(page).inputValue(), "This could be useful");
    assert.equal(await page.locator(".editor .badge").textContent(), "#2");
  });

  test("a deep link shows the right note even when the note loads last", async () => {
    const { page } = await e2e.openPage();
    const hold = gate();
    await page.route("**/api/people/1/notes/3", hold.pass);
    await page.goto("/people/1/notes/3");
    await page.getByRole("heading", { level: 1, name: "Doug Farrell" }).waitFor();
    await page.locator(".note-row").first().waitFor();
    hold.open();
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await editor(page).inputValue(), "Well, sort of useful");
  });

  test("a slow answer for a page already left never overwrites the current one", async () => {
    const { page } = await e2e.openPage();
    const hold = gate();
    await page.route("**/api/people/1", hold.pass);
    await page.route("**/api/people/1/notes/1", hold.pass);
    await page.goto("/people/1/notes/1");
    await page.getByRole("status").filter({ hasText: "Loading person…" }).waitFor();
    // Move on to Kent's note while Doug's answers are still outstanding.
    await goWithinApp(page, "/people/2/notes/4");
    await page.getByRole("heading", { level: 1, name: "Kent Brockman" }).waitFor();
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    const stale = [
      page.waitForResponse((response) => response.url().endsWith("/api/people/1")),
      page.waitForResponse((response) => response.url().endsWith("/api/people/1/notes/1")),
    ];
    hold.open();
    for (const response of stale) await (await response).finished();
    await settle(page);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Kent Brockman");
    assert.equal(await editor(page).inputValue(), "I'm going to make really profound observations");
    assert.equal(await page.locator(".editor .badge").textContent(), "#4");
  });

  test("a deep link to a note of someone else, or to a missing person, says so", async () => {
    const page = await open("/people/1/notes/4");
    await page.getByText("Note not found for Id: 4").waitFor();
    await page.getByRole("link", { name: "Write a new note instead" }).click();
    await page.waitForURL("**/people/1/notes");
    await page.getByRole("heading", { name: "Write a note" }).waitFor();

    await page.goto("/people/999/notes");
    await page.getByText("Person not found for Id: 999").waitFor();
    await screenshot(page, "notes-missing-person");
    await page.getByRole("link", { name: "Go to People" }).click();
    await page.waitForURL("**/people");
  });

  test("shows loading and retryable error states for the notes list", async () => {
    const { page } = await e2e.openPage();
    const hold = gate();
    let fail = true;
    await page.route("**/api/people/1/notes?*", async (route) => {
      if (!fail) return route.continue();
      await hold.opened();
      await route.abort("connectionfailed");
    });
    await page.goto("/people/1/notes");
    await page.getByRole("heading", { level: 1, name: "Doug Farrell" }).waitFor();
    await page.getByRole("status").filter({ hasText: "Loading notes…" }).waitFor();
    hold.open();
    const error = page.getByRole("alert").filter({ hasText: "Couldn't load notes" });
    await error.waitFor();
    assert.match((await error.textContent()) ?? "", /Could not reach the server/);
    fail = false;
    await error.getByRole("button", { name: "Try again" }).click();
    await page.locator(".note-row").first().waitFor();
  });

  test("pages through a person's notes with Load more", async () => {
    const person = await e2e.api.createPerson("Prolific", "Writer");
    for (let n = 1; n <= 27; n++) await e2e.api.createNote(person.person_id, `Thought number ${n}`);
    const page = await open(`/people/${person.person_id}/notes`);
    await page.getByText("Showing 20 of 27 notes").waitFor();
    assert.equal(await page.locator(".note-row").count(), 20);
    const nextPage = page.waitForRequest((request) =>
      new RegExp(`/api/people/${person.person_id}/notes\\?.*cursor=`).test(request.url()),
    );
    await page.getByRole("button", { name: "Load more" }).click();
    await nextPage;
    await page.getByText("Showing 27 of 27 notes").waitFor();
    const shown = await contents(page);
    assert.equal(shown[0], "Thought number 27");
    assert.equal(shown[26], "Thought number 1");

    // A note beyond the first page still opens from a deep link.
    const oldest = await fetch(`${e2e.origin}/api/people/${person.person_id}/notes?limit=27`).then(
      (response) => response.json() as Promise<{ note_id: number }[]>,
    );
    await page.goto(`/people/${person.person_id}/notes/${oldest[26]?.note_id}`);
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await editor(page).inputValue(), "Thought number 1");
    await e2e.api.deletePerson(person.person_id);
  });
});
