import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useE2E } from "./support.js";

describe("the trash", () => {
  const e2e = useE2E();

  test("Undo after a delete brings the note back; the Trash page restores another, and a second browser follows live", async () => {
    const first = await e2e.api.createNote(3, "Undo brings me back");
    const second = await e2e.api.createNote(3, "The trash brings me back");
    const { page } = await e2e.openPage();
    const { page: other } = await e2e.openPage();
    await other.goto("/people/3/notes");
    const row = (where: typeof page, text: string) => where.locator(".note-row__content", { hasText: text });
    await row(other, "Undo brings me back").waitFor();

    const remove = async (noteId: number) => {
      await page.goto(`/people/3/notes/${noteId}`);
      await page.getByRole("heading", { name: "Edit note" }).waitFor();
      await page.getByRole("button", { name: "Delete", exact: true }).click();
      await page
        .getByRole("dialog", { name: "Delete this note?" })
        .getByRole("button", { name: "Delete note" })
        .click();
      await page.getByRole("status").filter({ hasText: "Note deleted." }).waitFor();
    };

    await remove(first.note_id);
    await row(other, "Undo brings me back").waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Undo" }).click();
    await page.getByRole("status").filter({ hasText: "Note restored." }).waitFor();
    await page.waitForURL(`**/people/3/notes/${first.note_id}`);
    await row(other, "Undo brings me back").waitFor();
    assert.equal((await fetch(`${e2e.origin}/api/people/3/notes/${first.note_id}`)).status, 200);

    await remove(second.note_id);
    await page.getByRole("link", { name: "Trash" }).click();
    await page.getByRole("heading", { name: "Trash" }).waitFor();
    const entry = page.locator(".trash-entry", { hasText: "The trash brings me back" });
    await entry.getByRole("button", { name: /Restore/ }).click();
    await page.getByRole("status").filter({ hasText: "Restored: Note by Bunny Easter." }).waitFor();
    await entry.waitFor({ state: "detached" });
    await row(other, "The trash brings me back").waitFor();
    assert.equal((await fetch(`${e2e.origin}/api/people/3/notes/${second.note_id}`)).status, 200);
  });
});
