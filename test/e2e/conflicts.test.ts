import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { describeViolations, seriousAxeViolations, useE2E } from "./support.js";

/** axe-core is injected as a script, which the app's policy rightly refuses. */
const AXE_CONTEXT = { bypassCSP: true };

describe("several people editing the same note", () => {
  const e2e = useE2E();
  let people = 0;

  /** A person of this test's own with one note, and its editor's path. */
  async function arrange(content: string) {
    people += 1;
    const person = await e2e.api.createPerson("Conflict", `Tester ${people}`);
    const note = await e2e.api.createNote(person.person_id, content);
    return { ...note, path: `/people/${person.person_id}/notes/${note.note_id}` };
  }

  async function openEditor(path: string, content: string): Promise<Page> {
    const { page } = await e2e.openPage(AXE_CONTEXT);
    await page.goto(path);
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await editor(page).inputValue(), content);
    return page;
  }

  const editor = (page: Page) => page.getByLabel("Note", { exact: true });
  const conflict = (page: Page) => page.getByRole("group", { name: /Someone else changed this note/ });
  const versionText = (page: Page, name: RegExp) =>
    page.getByRole("region", { name }).locator(".editor__content").textContent();
  const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id);

  async function save(page: Page, content: string) {
    await editor(page).fill(content);
    await page.getByRole("button", { name: "Save note" }).click();
  }

  /** Both open the note; the first saves, then the second saves over a version it never saw. */
  async function collide(original: string, first: string, second: string) {
    const note = await arrange(original);
    const firstPage = await openEditor(note.path, original);
    const secondPage = await openEditor(note.path, original);
    await save(firstPage, first);
    await firstPage.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
    await save(secondPage, second);
    await conflict(secondPage).waitFor();
    return { note, page: secondPage };
  }

  test("a save over someone else's newer version shows both texts, and keeping mine saves it", async () => {
    const { note, page } = await collide("The plan", "Theirs: lunch at noon", "Mine: lunch at one");
    assert.equal(await focusedId(page), "conflict-heading");
    assert.equal(await versionText(page, /Your version/), "Mine: lunch at one");
    assert.equal(await versionText(page, /Newer version/), "Theirs: lunch at noon");
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Theirs: lunch at noon");
    const violations = await seriousAxeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));

    await page.keyboard.press("Tab");
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent?.trim()),
      "Keep my version",
      "the first choice follows the heading in keyboard order",
    );
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
    assert.equal(await editor(page).inputValue(), "Mine: lunch at one");
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Mine: lunch at one");
  });

  test("taking the newer version drops the draft, and the next save goes through", async () => {
    const { note, page } = await collide("The plan", "Theirs: meet at the park", "Mine: meet at the cafe");
    await page.getByRole("button", { name: "Use the newer version" }).click();
    await conflict(page).waitFor({ state: "detached" });
    assert.equal(await editor(page).inputValue(), "Theirs: meet at the park");
    assert.equal(await focusedId(page), "note-content");
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Theirs: meet at the park");

    // What was taken is now the version this editor changes.
    await save(page, "Theirs, then mine: the park at two");
    await page.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
    assert.equal(await conflict(page).count(), 0);
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Theirs, then mine: the park at two");
  });

  test("a note deleted meanwhile keeps the text, which can be saved as a new note", async () => {
    const note = await arrange("Soon gone");
    const page = await openEditor(note.path, "Soon gone");
    await e2e.api.deleteNote(note.person_id, note.note_id);
    await save(page, "Words worth keeping");
    const deleted = page.getByRole("group", { name: /This note was deleted/ });
    await deleted.waitFor();
    assert.equal(await focusedId(page), "conflict-heading");
    assert.equal(await versionText(page, /Your version/), "Words worth keeping");
    const violations = await seriousAxeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));

    await page.getByRole("button", { name: "Save as a new note" }).click();
    await page.getByRole("status").filter({ hasText: "Note added." }).waitFor();
    assert.equal(await editor(page).inputValue(), "Words worth keeping");
    const created = Number(/\/notes\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
    assert.notEqual(created, note.note_id);
    assert.equal((await e2e.api.readNote(note.person_id, created)).content, "Words worth keeping");
  });

  test("deleting a note someone changed meanwhile deletes nothing and shows their version", async () => {
    const note = await arrange("Keep or delete?");
    const page = await openEditor(note.path, "Keep or delete?");
    await e2e.api.updateNote(note.person_id, note.note_id, "Changed: please keep");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this note?" });
    await dialog.getByRole("button", { name: "Delete note" }).click();
    await page.getByRole("alert").filter({ hasText: "so it was not deleted" }).waitFor();
    assert.equal(await editor(page).inputValue(), "Changed: please keep");
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Changed: please keep");
  });

  test("a person's names changed meanwhile show beside the typed ones, and keeping mine saves them", async () => {
    people += 1;
    const person = await e2e.api.createPerson("Renamed", `Twice ${people}`);
    const open = async () => {
      const { page } = await e2e.openPage();
      await page.goto(`/people/${person.person_id}`);
      await page.getByRole("heading", { name: "Edit person" }).waitFor();
      assert.equal(await page.getByLabel("First name").inputValue(), "Renamed");
      return page;
    };
    const first = await open();
    const second = await open();
    await first.getByLabel("First name").fill("Theirs");
    await first.getByRole("button", { name: "Save changes" }).click();
    await first
      .getByRole("status")
      .filter({ hasText: `Saved Theirs Twice ${people}.` })
      .waitFor();
    await second.getByLabel("First name").fill("Mine");
    await second.getByRole("button", { name: "Save changes" }).click();
    await second.getByRole("group", { name: /Someone else changed this person/ }).waitFor();
    const firstName = (name: RegExp) =>
      second.getByRole("region", { name }).getByRole("definition").first().textContent();
    assert.equal(await firstName(/Your version/), "Mine");
    assert.equal(await firstName(/Newer version/), "Theirs");
    await second.getByRole("button", { name: "Keep my version" }).click();
    await second
      .getByRole("status")
      .filter({ hasText: `Saved Mine Twice ${people}.` })
      .waitFor();
    const saved = await e2e.api.request<{ fname: string }>("GET", `/people/${person.person_id}`);
    assert.equal(saved.fname, "Mine");
  });
});
