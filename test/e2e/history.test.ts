import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { describeViolations, seriousAxeViolations, useE2E } from "./support.js";

/** axe-core is injected as a script, which the app's policy rightly refuses. */
const AXE_CONTEXT = { bypassCSP: true };

describe("a note's History panel", () => {
  const e2e = useE2E();
  let people = 0;

  /** A person of this test's own with one note edited into `versions`, and the note's page. */
  async function arrange(versions: string[]) {
    people += 1;
    const person = await e2e.api.createPerson("History", `Reader ${people}`);
    const [first = "", ...later] = versions;
    const note = await e2e.api.createNote(person.person_id, first);
    for (const content of later) await e2e.api.updateNote(person.person_id, note.note_id, content);
    return { ...note, path: `/people/${person.person_id}/notes/${note.note_id}` };
  }

  async function openNote(path: string): Promise<Page> {
    const { page } = await e2e.openPage(AXE_CONTEXT);
    await page.goto(path);
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    return page;
  }

  const editor = (page: Page) => page.getByLabel("Note", { exact: true });
  const version = (page: Page, number: number) => page.locator(`.history__version[data-version="${number}"]`);

  async function openHistory(page: Page) {
    await page.getByRole("button", { name: "Show history" }).click();
    await version(page, 1).waitFor();
  }

  test("lists the versions newest first, compares one with the current word by word, and restores it", async () => {
    const note = await arrange(["Lunch at noon in the park", "Lunch at one in the park", "Lunch at one at the cafe"]);
    const page = await openNote(note.path);
    await openHistory(page);
    const listed = await page
      .locator(".history__version")
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.version));
    assert.deepEqual(listed, ["3", "2", "1"], "newest first");
    assert.match((await version(page, 3).textContent()) ?? "", /Current/);

    await version(page, 1)
      .getByRole("button", { name: /Compare with current/ })
      .click();
    const diff = page.locator("#history-diff");
    await diff.waitFor();
    const removed = await diff.locator(".history__diff-text del").allTextContents();
    const added = await diff.locator(".history__diff-text ins").allTextContents();
    assert.deepEqual(
      removed.map((text) => text.trim()),
      ["noon in", "park"],
    );
    assert.deepEqual(
      added.map((text) => text.trim()),
      ["one at", "cafe"],
    );
    const violations = await seriousAxeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));

    await version(page, 1)
      .getByRole("button", { name: /Restore this version/ })
      .click();
    await page.getByRole("status").filter({ hasText: "Version 1 restored." }).waitFor();
    assert.equal(await editor(page).inputValue(), "Lunch at noon in the park");
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Lunch at noon in the park");
    await version(page, 4).waitFor();
    assert.match((await version(page, 4).textContent()) ?? "", /Current/);
    assert.match((await version(page, 4).textContent()) ?? "", /Lunch at noon in the park/);
  });

  test("restoring while someone else edits the note shows the conflict, and nothing is overwritten", async () => {
    const note = await arrange(["Meet at the station", "Meet at the museum"]);
    const restorer = await openNote(note.path);
    const writer = await openNote(note.path);
    await openHistory(restorer);

    await editor(writer).fill("Meet at the harbour");
    await writer.getByRole("button", { name: "Save note" }).click();
    await writer.getByRole("status").filter({ hasText: "Note saved." }).waitFor();

    await version(restorer, 1)
      .getByRole("button", { name: /Restore this version/ })
      .click();
    const conflict = restorer.getByRole("group", { name: /Someone else changed this note/ });
    await conflict.waitFor();
    const text = (name: RegExp) => restorer.getByRole("region", { name }).locator(".editor__content").textContent();
    assert.equal(await text(/Your version/), "Meet at the station", "the version being restored");
    assert.equal(await text(/Newer version/), "Meet at the harbour");
    assert.equal(
      (await e2e.api.readNote(note.person_id, note.note_id)).content,
      "Meet at the harbour",
      "the other edit stands",
    );

    await restorer.getByRole("button", { name: "Keep my version" }).click();
    await restorer.getByRole("status").filter({ hasText: "Note saved." }).waitFor();
    assert.equal((await e2e.api.readNote(note.person_id, note.note_id)).content, "Meet at the station");
  });
});
