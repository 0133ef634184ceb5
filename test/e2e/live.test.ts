import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { useE2E } from "./support.js";

describe("live updates", () => {
  const e2e = useE2E();
  let people = 0;

  async function arrange() {
    people += 1;
    return e2e.api.createPerson("Live", `Watcher ${people}`);
  }

  /** A page in a browser context of its own, once its live stream is connected. */
  async function openLive(path: string): Promise<Page> {
    const { page } = await e2e.openPage();
    await page.goto(path);
    await page.locator('[data-live="live"]').waitFor();
    return page;
  }

  /** Marks the document, so a test can tell it was never loaded again. */
  const mark = (page: Page) => page.evaluate(() => Object.assign(window, { notReloaded: true }));
  const stillMarked = (page: Page) => page.evaluate(() => "notReloaded" in window);

  test("a note someone writes appears at the top of the home page and of the author's notes, highlighted", async () => {
    const person = await arrange();
    const home = await openLive("/");
    const notes = await openLive(`/people/${person.person_id}/notes`);
    await notes.getByText("No notes yet").waitFor();
    // Loaded before the note is written: a note already in the first answer is not one that arrived.
    await home.locator(".note-card").first().waitFor();
    await mark(home);

    const writer = await openLive(`/people/${person.person_id}/notes`);
    await writer.getByLabel("Note", { exact: true }).fill("Written in another window");
    await writer.getByRole("button", { name: "Add note" }).click();

    const first = home.locator(".note-card").first();
    await first.filter({ hasText: "Written in another window" }).waitFor();
    assert.match((await first.getAttribute("class")) ?? "", /is-fresh/, "highlighted on arrival");
    await notes.locator(".note-row").filter({ hasText: "Written in another window" }).waitFor();
    assert.equal(await stillMarked(home), true, "without a reload");
  });

  test("an edit replaces the note in place, a deletion takes it away, and a draft being typed stays", async () => {
    const person = await arrange();
    const older = await e2e.api.createNote(person.person_id, "An older note");
    const note = await e2e.api.createNote(person.person_id, "Before the edit");
    const reader = await openLive(`/people/${person.person_id}/notes`);
    await reader.locator(".note-row").filter({ hasText: "Before the edit" }).waitFor();
    const draft = reader.getByLabel("Note", { exact: true });
    await draft.fill("My half-written draft");
    await mark(reader);

    const editor = await openLive(`/people/${person.person_id}/notes/${note.note_id}`);
    await editor.getByLabel("Note", { exact: true }).fill("After the edit");
    await editor.getByRole("button", { name: "Save note" }).click();

    const rows = reader.locator(".note-row__content");
    await reader.locator(".note-row").filter({ hasText: "After the edit" }).waitFor();
    assert.deepEqual(await rows.allTextContents(), ["After the edit", "An older note"], "in place, not moved");

    await e2e.api.deleteNote(person.person_id, older.note_id);
    await reader.locator(".note-row").filter({ hasText: "An older note" }).waitFor({ state: "detached" });
    assert.deepEqual(await rows.allTextContents(), ["After the edit"]);
    assert.equal(await draft.inputValue(), "My half-written draft", "the draft is untouched");
    assert.equal(await stillMarked(reader), true, "without a reload");
  });

  test("a new person shows up on the People page, and a renamed author is renamed on the home page", async () => {
    const person = await arrange();
    await e2e.api.createNote(person.person_id, "Signed with the old name");
    const list = await openLive("/people");
    const home = await openLive("/");
    await home.getByText("Signed with the old name").waitFor();

    const added = await e2e.api.createPerson("Newly", `Arrived ${people}`);
    await list.getByRole("link", { name: `Newly Arrived ${people}`, exact: true }).waitFor();
    await e2e.api.request("PUT", `/people/${person.person_id}`, { fname: "Renamed", lname: person.lname });
    const card = home.locator(".note-card").filter({ hasText: "Signed with the old name" });
    await card
      .locator(".author__name")
      .filter({ hasText: `Renamed ${person.lname}` })
      .waitFor();
    await list.getByRole("link", { name: `Renamed ${person.lname}`, exact: true }).waitFor();
    assert.ok(added.person_id > person.person_id);
  });

  test("a refused stream shows Offline, and the app reconnects by itself and catches up", async () => {
    const person = await arrange();
    const { page } = await e2e.openPage();
    let refused = 0;
    await page.route("**/api/events*", async (route) => {
      if (refused++ > 0) return route.continue();
      await route.fulfill({ status: 503, contentType: "application/problem+json", body: "{}" });
    });
    await page.goto(`/people/${person.person_id}/notes`);
    await page.locator('[data-live="offline"]').waitFor();
    await page.locator('[data-live="live"]').waitFor({ timeout: 15_000 });
    await e2e.api.createNote(person.person_id, "After the reconnect");
    await page.locator(".note-row").filter({ hasText: "After the reconnect" }).waitFor();
    assert.ok(refused >= 2, "a second stream was opened");
  });

  test("a list that failed while the server was down loads once the stream is back", async () => {
    // The browser reaches the server through a proxy the test controls: the server going away
    // is the proxy resetting every connection.
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(e2e.origin).port) });
    try {
      const { page } = await e2e.openPage({ baseURL: `http://127.0.0.1:${proxy.port}` });
      await page.goto("/");
      await page.locator('[data-live="live"]').waitFor();
      await page.locator(".note-card").first().waitFor();
      await mark(page);

      proxy.setMode("refuse");
      proxy.cut();
      await page.locator('[data-live="live"]').waitFor({ state: "detached" });
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "People" }).click();
      const failed = page.getByRole("alert").filter({ hasText: "Couldn't load people" });
      await failed.waitFor();

      proxy.setMode("forward");
      await page.locator('[data-live="live"]').waitFor({ timeout: 20_000 });
      await page.locator(".person-row").first().waitFor();
      assert.equal(await failed.count(), 0, "the error is gone");
      assert.equal(await stillMarked(page), true, "without a reload of the page");
    } finally {
      await proxy.close();
    }
  });
});
