import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page, Request } from "playwright-core";
import { SEARCH_DEBOUNCE_MS } from "../../web/src/controllers/search-controller.js";
import { gate, SEED, screenshot, settle, useE2E, type WatchedPage } from "./support.js";

describe("search on the home page", () => {
  const e2e = useE2E();
  let watched: WatchedPage;

  /** `clock`: the page's timers run on a clock the test can stop (Playwright's page.clock). */
  async function open(path = "/", { clock = false } = {}) {
    watched = await e2e.openPage();
    if (clock) await watched.page.clock.install();
    await watched.page.goto(path);
    return watched.page;
  }

  /** The searches the page asked the server for, in order. */
  function searches(page: Page): string[] {
    const seen: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname === "/api/notes" && url.searchParams.has("q")) seen.push(url.searchParams.get("q") ?? "");
    });
    return seen;
  }

  const contents = (page: Page) => page.locator(".search-results .note-card__content").allTextContents();
  const marks = (page: Page) => page.locator(".search-results mark").allTextContents();

  test("results come as one types, after a pause, with the matches marked and the text in the address", async () => {
    const page = await open("/", { clock: true });
    await page.locator(".note-card").first().waitFor();
    const asked = searches(page);
    // The page's time stands still while the word is typed, so that keys a busy machine delivers
    // slowly do not make pauses; then the pause comes.
    await page.clock.pauseAt(Date.now() + 1_000);
    await page.getByLabel("Search notes").pressSequentially("useful", { delay: 30 });
    assert.deepEqual(asked, [], "nothing is searched while the word is typed");
    await page.clock.runFor(SEARCH_DEBOUNCE_MS);
    await page.clock.resume();
    await page.getByRole("heading", { name: "Notes matching “useful”" }).waitFor();
    await page.locator(".search-results .note-card").nth(1).waitFor();
    assert.deepEqual((await contents(page)).sort(), ["This could be useful", "Well, sort of useful"]);
    assert.deepEqual(await marks(page), ["useful", "useful"]);
    // One search for the whole word typed, not one per key.
    assert.deepEqual(asked, ["useful"]);
    assert.equal(new URL(page.url()).search, "?q=useful");
    await screenshot(page, "search");
    assert.deepEqual(watched.errors, []);
  });

  test("the author's names are searched and marked too", async () => {
    const page = await open("/?q=brockman");
    await page.locator(".search-results .note-card").nth(1).waitFor();
    assert.deepEqual(await marks(page), ["Brockman", "Brockman"]);
    assert.equal(await page.locator(".search-results .note-card").count(), 2);
  });

  test("reload, back and forward show the same search", async () => {
    const page = await open();
    await page.locator(".note-card").first().waitFor();
    await page.getByLabel("Search notes").fill("eggs");
    await page.getByRole("heading", { name: "Notes matching “eggs”" }).waitFor();
    await page.reload();
    await page.locator(".search-results .note-card").first().waitFor();
    assert.equal(await page.getByLabel("Search notes").inputValue(), "eggs");
    assert.deepEqual(await contents(page), ["Has anyone seen my Easter eggs?"]);

    // Refining the search replaces its history entry; the first search made one.
    await page.getByLabel("Search notes").fill("easter eggs");
    await page.getByRole("heading", { name: "Notes matching “easter eggs”" }).waitFor();
    await page.goBack();
    await page.waitForURL((url) => url.search === "");
    await page.getByRole("heading", { name: "Latest notes" }).waitFor();
    await page.locator(".note-card").nth(6).waitFor();
    assert.equal(await page.locator(".search-results").count(), 0);
    assert.equal(await page.getByLabel("Search notes").inputValue(), "");
    await page.goForward();
    await page.getByRole("heading", { name: "Notes matching “easter eggs”" }).waitFor();
    assert.equal(await page.getByLabel("Search notes").inputValue(), "easter eggs");
    // The heading shows at once; the results come with the answer.
    await page.locator(".search-results .note-card").first().waitFor();
    assert.deepEqual(await contents(page), ["Has anyone seen my Easter eggs?"]);
  });

  test("a slow answer to an older search never replaces a newer one", async () => {
    const page = await open();
    await page.locator(".note-card").first().waitFor();
    const held = gate();
    await page.route(
      (url) => url.pathname === "/api/notes" && url.searchParams.get("q") === "cool",
      (route) => held.pass(route),
    );
    // The older search's request ends either way: answered once the gate opens, or dropped by the
    // page when the newer search starts. Either is what the page has to cope with.
    const isOlder = (request: Request) => new URL(request.url()).searchParams.get("q") === "cool";
    const olderEnded = Promise.race([
      page.waitForEvent("requestfinished", isOlder),
      page.waitForEvent("requestfailed", isOlder),
    ]);
    const box = page.getByLabel("Search notes");
    await box.fill("cool");
    await page.getByRole("heading", { name: "Notes matching “cool”" }).waitFor();
    await box.fill("late");
    await page.locator(".search-results .note-card").first().waitFor();
    held.open();
    await olderEnded;
    await settle(page);
    assert.deepEqual(await contents(page), [SEED.newestNote.content]);
    assert.equal(await page.getByRole("heading", { name: "Notes matching “late”" }).count(), 1);
  });

  test("notes are shown as text, marks built from ranges, never as HTML", async () => {
    const person = await e2e.api.createPerson("Markup", "Writer");
    await e2e.api.createNote(person.person_id, '<img src=x onerror="alert(1)"> <b>bold</b> claims');
    const page = await open("/?q=claims");
    await page.locator(".search-results .note-card").first().waitFor();
    assert.deepEqual(await contents(page), ['<img src=x onerror="alert(1)"> <b>bold</b> claims']);
    assert.deepEqual(await marks(page), ["claims"]);
    assert.equal(await page.locator(".search-results img, .search-results b").count(), 0);
    assert.deepEqual(watched.dialogs, []);
  });

  test("no match, and clearing the box brings the latest notes back", async () => {
    const page = await open("/?q=zebra");
    await page.getByText("No notes match").waitFor();
    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByRole("heading", { name: "Latest notes" }).waitFor();
    await page.locator(".note-card").nth(6).waitFor();
    assert.equal(new URL(page.url()).search, "");
    assert.equal(await page.getByLabel("Search notes").inputValue(), "");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "note-search");
  });

  test("during a search the page says results come best first, and the box has one clear button", async () => {
    const page = await open("/?q=eggs");
    await page.locator(".search-results .note-card").first().waitFor();
    const header = page.locator(".page__header");
    assert.doesNotMatch((await header.textContent()) ?? "", /newest first/i);
    assert.match((await header.textContent()) ?? "", /best match first/i);
    assert.equal(await page.title(), "Notes matching “eggs” · People & Notes");

    // The page's own Clear button is the only one: the box draws none of its own (type=search
    // does in Chromium), so clicks across its right end leave the text as it is.
    const box = page.getByLabel("Search notes");
    const edge = await box.boundingBox();
    assert.ok(edge);
    for (let dx = 4; dx <= 40; dx += 4) {
      await page.mouse.click(edge.x + edge.width - dx, edge.y + edge.height / 2);
      assert.equal(await box.inputValue(), "eggs", `a click ${dx} px from the box's right end`);
    }
    const clear = page.getByRole("button", { name: "Clear" });
    assert.equal(await clear.count(), 1);
    await clear.click();
    await page.getByRole("heading", { level: 1, name: "Latest notes" }).waitFor();
    assert.match((await header.textContent()) ?? "", /newest first/);
  });
});
