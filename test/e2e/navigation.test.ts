import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { useE2E } from "./support.js";

describe("navigation", () => {
  const e2e = useE2E();

  const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });
  const focused = (page: Page) =>
    page.evaluate(
      () => `${document.activeElement?.tagName.toLowerCase()}:${document.activeElement?.textContent?.trim()}`,
    );

  /** Set before clicking around: it survives only if no link reloads the page. */
  const markDocument = (page: Page) => page.evaluate(() => Object.assign(window, { sameDocument: true }));
  const isSameDocument = (page: Page) =>
    page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument === true);

  test("every page has the navigation bar, with the current page marked", async () => {
    const { page } = await e2e.openPage();
    const pages: [string, "Home" | "People" | undefined][] = [
      ["/", "Home"],
      ["/people", "People"],
      ["/people/1", "People"],
      ["/people/1/notes", "People"],
      ["/people/1/notes/1", "People"],
      ["/no/such/page", undefined],
    ];
    for (const [path, current] of pages) {
      await page.goto(path);
      await nav(page).waitFor();
      assert.equal(await nav(page).getByRole("link", { name: "Home" }).isVisible(), true, path);
      assert.equal(await nav(page).getByRole("link", { name: "People" }).isVisible(), true, path);
      const marked = await nav(page).locator('[aria-current="page"]').allTextContents();
      assert.deepEqual(marked, current ? [current] : [], path);
    }
  });

  test("the server answers every deep link with the app, and unknown paths with a not-found page", async () => {
    const { page } = await e2e.openPage();
    const deepLinks: [string, (page: Page) => Promise<void>][] = [
      ["/", (p) => p.locator(".note-card").first().waitFor()],
      ["/people", (p) => p.getByRole("heading", { name: "Add a person" }).waitFor()],
      ["/people/3", async (p) => assert.equal(await p.getByLabel("First name").inputValue(), "Bunny")],
      ["/people/3/notes", (p) => p.getByRole("heading", { level: 1, name: "Bunny Easter" }).waitFor()],
      [
        "/people/3/notes/6",
        async (p) => {
          await p.getByRole("heading", { name: "Edit note" }).waitFor();
          assert.equal(await p.getByLabel("Note", { exact: true }).inputValue(), "Has anyone seen my Easter eggs?");
        },
      ],
    ];
    for (const [path, check] of deepLinks) {
      const response = await page.goto(path);
      assert.equal(response?.status(), 200, path);
      assert.match(response?.headers()["content-type"] ?? "", /text\/html/);
      await check(page);
    }
    const missing = await page.goto("/no/such/page");
    assert.equal(missing?.status(), 404);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    assert.equal(await page.title(), "Page not found · People & Notes");
    await page.getByRole("link", { name: "Latest notes" }).click();
    await page.waitForURL(`${e2e.origin}/`);
  });

  test("back, forward and reload keep you where you were", async () => {
    const { page } = await e2e.openPage();
    await page.goto("/");
    await page.locator(".note-card").first().waitFor();
    await markDocument(page);

    await nav(page).getByRole("link", { name: "People" }).click();
    await page.waitForURL("**/people");
    await page.getByRole("link", { name: "Doug Farrell", exact: true }).click();
    await page.waitForURL("**/people/1");
    await page.getByRole("link", { name: "View Doug Farrell's notes" }).click();
    await page.waitForURL("**/people/1/notes");
    await page
      .locator(".note-row", { hasText: "This could be useful" })
      .getByRole("link", { name: "Edit note" })
      .click();
    await page.waitForURL("**/people/1/notes/2");
    assert.equal(await page.getByLabel("Note", { exact: true }).inputValue(), "This could be useful");
    assert.equal(await isSameDocument(page), true, "links are followed without reloading the page");

    await page.reload();
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await page.getByLabel("Note", { exact: true }).inputValue(), "This could be useful");
    await markDocument(page);

    await page.goBack();
    await page.waitForURL("**/people/1/notes");
    await page.getByRole("heading", { name: "Write a note" }).waitFor();
    assert.equal(await page.getByLabel("Note", { exact: true }).inputValue(), "");

    await page.goBack();
    await page.waitForURL("**/people/1");
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    assert.equal(await page.getByLabel("First name").inputValue(), "Doug");

    await page.goBack();
    await page.waitForURL("**/people");
    await page.getByRole("heading", { name: "Add a person" }).waitFor();
    assert.equal(await page.getByLabel("First name").inputValue(), "");

    await page.goForward();
    await page.waitForURL("**/people/1");
    await page.getByRole("heading", { name: "Edit person" }).waitFor();
    assert.equal(await page.getByLabel("First name").inputValue(), "Doug");

    await page.goForward();
    await page.goForward();
    await page.waitForURL("**/people/1/notes/2");
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    assert.equal(await page.getByLabel("Note", { exact: true }).inputValue(), "This could be useful");
  });

  test("changing page moves focus to the new page's heading and updates the title", async () => {
    const { page } = await e2e.openPage();
    await page.goto("/");
    await page.locator(".note-card").first().waitFor();
    await nav(page).getByRole("link", { name: "People" }).click();
    await page.waitForURL("**/people");
    assert.equal(await focused(page), "h1:People");
    assert.equal(await page.title(), "People · People & Notes");
    await nav(page).getByRole("link", { name: "Home" }).click();
    await page.waitForURL(`${e2e.origin}/`);
    assert.equal(await focused(page), "h1:Latest notes");
    assert.equal(await page.title(), "Latest notes · People & Notes");
    await page
      .locator(".note-card")
      .first()
      .getByRole("link", { name: /Open note/ })
      .click();
    await page.waitForURL("**/people/3/notes/7");
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    // The heading is drawn again once the person has loaded; focus follows it.
    assert.equal(await focused(page), "h1:Bunny Easter");
    assert.equal(await page.title(), "Bunny Easter's notes · People & Notes");
  });

  test("the keyboard alone gets around: skip link, visible focus, links and buttons", async () => {
    const { page } = await e2e.openPage();
    await page.goto("/");
    await page.locator(".note-card").first().waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "a:Skip to content");
    assert.equal(await page.getByRole("link", { name: "Skip to content" }).isVisible(), true);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    // Past the navigation: the first link inside the page.
    assert.equal(
      await page.evaluate(() => document.activeElement?.closest("main") !== null),
      true,
      "skip link moves past the navigation",
    );

    await page.goto("/");
    await page.locator(".note-card").first().waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "a:People & Notes");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "a:Home");
    // Focus is visible: an outline is drawn around the focused link.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    assert.equal(outline, "solid");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "a:People");
    await page.keyboard.press("Enter");
    await page.waitForURL("**/people");
    await page.locator(".person-row").first().waitFor();
    await page.getByRole("link", { name: "Kent Brockman", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL("**/people/2");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "person-fname");
  });
});
