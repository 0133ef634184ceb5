import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { localTime, SEED, screenshot, useE2E, type WatchedPage } from "./support.js";

describe("home page", () => {
  const e2e = useE2E();
  let watched: WatchedPage;

  async function open(path = "/") {
    watched = await e2e.openPage();
    await watched.page.goto(path);
    return watched.page;
  }

  test("lists every note newest first, with its author and a readable local time", async () => {
    const page = await open();
    const cards = page.locator(".note-card");
    await cards.first().waitFor();
    const contents = await page.locator(".note-card__content").allTextContents();
    assert.deepEqual(contents, [
      "I'm really late delivering these!",
      "Well, sort of useful",
      "Maybe they'll be more obvious than I thought",
      "This could be useful",
      "Has anyone seen my Easter eggs?",
      "I'm going to make really profound observations",
      "Cool, a mini-blogging application!",
    ]);
    const authors = await page.locator(".note-card .author__name").allTextContents();
    assert.deepEqual(authors, [
      "Bunny Easter",
      "Doug Farrell",
      "Kent Brockman",
      "Doug Farrell",
      "Bunny Easter",
      "Kent Brockman",
      "Doug Farrell",
    ]);
    const time = cards.last().locator("time");
    assert.equal(await time.getAttribute("datetime"), SEED.firstNote.iso);
    assert.equal(await time.getAttribute("title"), SEED.firstNote.iso);
    // Berlin is UTC+1 in January: the tutorial's own timestamp, shown in the reader's zone.
    assert.equal(await time.textContent(), localTime(SEED.firstNote.iso));
    assert.equal(await time.textContent(), "Jan 6, 2019, 11:17 PM");
    assert.equal(await page.title(), "Latest notes · People & Notes");
    await screenshot(page, "home");
    assert.deepEqual(watched.errors, []);
  });

  test("choosing an author opens that person, with a single click", async () => {
    const page = await open();
    await page.locator(".note-card").nth(1).getByRole("link", { name: "Doug Farrell", exact: true }).click();
    await page.waitForURL("**/people/1");
    assert.equal(await page.getByLabel("First name").inputValue(), "Doug");
    assert.equal(await page.getByLabel("Last name").inputValue(), "Farrell");
  });

  test("choosing a note opens it in its person's notes page, ready to edit", async () => {
    const page = await open();
    const card = page.locator(".note-card", { hasText: "Maybe they'll be more obvious" });
    await card.getByRole("link", { name: /Open note/ }).click();
    await page.waitForURL("**/people/2/notes/5");
    await page.getByRole("heading", { level: 1, name: "Kent Brockman" }).waitFor();
    const editor = page.getByLabel("Note", { exact: true });
    await page.waitForFunction(
      () => (document.querySelector("#note-content") as HTMLTextAreaElement | null)?.value !== "",
    );
    assert.equal(await editor.inputValue(), "Maybe they'll be more obvious than I thought");
  });

  test("the keyboard reaches and follows the links", async () => {
    const page = await open();
    await page.locator(".note-card").first().waitFor();
    const openLink = page
      .locator(".note-card")
      .first()
      .getByRole("link", { name: /Open note/ });
    await openLink.focus();
    await page.keyboard.press("Enter");
    await page.waitForURL("**/people/3/notes/7");
  });

  test("shows a loading state, then an error with a retry, then the notes", async () => {
    const { page } = await e2e.openPage();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let fail = true;
    await page.route("**/api/notes?*", async (route) => {
      await held;
      if (fail) {
        await route.fulfill({
          status: 503,
          contentType: "application/problem+json",
          body: JSON.stringify({
            type: "about:blank",
            title: "Service Unavailable",
            status: 503,
            detail: "The database is not reachable",
          }),
        });
      } else {
        await route.continue();
      }
    });
    await page.goto("/");
    await page.getByRole("status").filter({ hasText: "Loading notes…" }).waitFor();
    release();
    const error = page.getByRole("alert").filter({ hasText: "Couldn't load notes" });
    await error.waitFor();
    assert.match((await error.textContent()) ?? "", /The database is not reachable/);
    await screenshot(page, "home-error");
    fail = false;
    await page.getByRole("button", { name: "Try again" }).click();
    await page.locator(".note-card").first().waitFor();
  });

  test("shows an empty state when there are no notes", async () => {
    const { page } = await e2e.openPage();
    await page.route("**/api/notes?*", (route) =>
      route.fulfill({ status: 200, contentType: "application/json", headers: { "x-total-count": "0" }, body: "[]" }),
    );
    await page.goto("/");
    await page.getByText("No notes yet").waitFor();
    assert.equal(await page.getByRole("link", { name: "People", exact: true }).count(), 2);
  });

  test("a note written as HTML shows as text and runs nothing", async () => {
    const person = await e2e.api.createPerson("<b>Mallory</b>", "<i>Script</i>");
    const attack = "<img src=x onerror=alert(1)>";
    await e2e.api.createNote(person.person_id, attack);
    const page = await open();
    const card = page.locator(".note-card").first();
    await card.waitFor();
    assert.equal(await card.locator(".note-card__content").textContent(), attack);
    assert.match((await card.locator(".author__name").textContent()) ?? "", /<b>Mallory<\/b> <i>Script<\/i>/);
    assert.equal(await page.locator("main img, main b, main i").count(), 0);
    await page.goto(`/people/${person.person_id}/notes`);
    await page.locator(".note-row").first().waitFor();
    assert.equal(await page.locator(".note-row__content").first().textContent(), attack);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "<b>Mallory</b> <i>Script</i>");
    assert.equal(await page.locator("main img, main b, main i").count(), 0);
    assert.deepEqual(watched.dialogs, []);
    await e2e.api.deletePerson(person.person_id);
  });

  test("pages through a long list with Load more, following the API's next link", async () => {
    const person = await e2e.api.createPerson("Paige", "Turner");
    for (let n = 1; n <= 25; n++) await e2e.api.createNote(person.person_id, `Page note ${n}`);
    const page = await open();
    const cards = page.locator(".note-card");
    await cards.first().waitFor();
    assert.equal(await cards.count(), 20);
    await page.getByText("Showing 20 of 32 notes").waitFor();
    const nextPage = page.waitForRequest((request) => /\/api\/notes\?.*cursor=/.test(request.url()));
    await page.getByRole("button", { name: "Load more" }).click();
    await nextPage;
    await page.getByText("Showing 32 of 32 notes").waitFor();
    assert.equal(await cards.count(), 32);
    assert.equal(await page.getByRole("button", { name: "Load more" }).count(), 0);
    const contents = await page.locator(".note-card__content").allTextContents();
    assert.equal(new Set(contents).size, 32);
    assert.equal(contents[0], "Page note 25");
    assert.equal(contents[31], SEED.firstNote.content);
    // Focus continues at the first newly loaded note.
    assert.equal(await page.evaluate(() => document.activeElement?.closest("li")?.dataset.noteIndex), "20");
    await e2e.api.deletePerson(person.person_id);
  });

  test("back after Load more returns to the same notes, scrolled to where the reader was", async () => {
    const person = await e2e.api.createPerson("Rhea", "Back");
    for (let n = 1; n <= 25; n++) await e2e.api.createNote(person.person_id, `Way back note ${n}`);
    const page = await open();
    const cards = page.locator(".note-card");
    await cards.first().waitFor();
    const total = (await fetch(`${e2e.origin}/api/notes?limit=1`)).headers.get("x-total-count");
    const all = `Showing ${total} of ${total} notes`;
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText(all).waitFor();
    const count = await cards.count();
    assert.equal(count, Number(total));

    // The reader scrolls down to the 23rd note and opens it.
    const chosen = cards.nth(22);
    const chosenText = await chosen.locator(".note-card__content").textContent();
    await chosen.evaluate((card) => card.scrollIntoView({ block: "start" }));
    const scrolledTo = await page.evaluate(() => window.scrollY);
    assert.ok(scrolledTo > 1000, `scrolled down (${scrolledTo})`);
    await chosen.getByRole("link", { name: /Open note/ }).click();
    await page.getByRole("heading", { level: 1, name: "Rhea Back" }).waitFor();

    await page.goBack();
    await page.getByText(all).waitFor();
    assert.equal(await cards.count(), count, "the same number of notes as before");
    await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 1, scrolledTo);
    const top = await cards.nth(22).evaluate((card) => Math.round(card.getBoundingClientRect().top));
    assert.ok(Math.abs(top) <= 1, `the chosen note is where it was, at the top (${top})`);
    assert.equal(await cards.nth(22).locator(".note-card__content").textContent(), chosenText);
    await e2e.api.deletePerson(person.person_id);
  });
});
