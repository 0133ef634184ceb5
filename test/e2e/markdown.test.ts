import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Locator } from "playwright-core";
import { describeViolations, seriousAxeViolations, settle, useE2E, type WatchedPage } from "./support.js";

const REL = "noopener noreferrer nofollow";

const RICH = [
  "# Plans for *Monday*",
  "",
  "Some **bold** and _slanted_ words.",
  "",
  "- first",
  "- second",
  "",
  "Run `npm test` now, then read [the docs](https://example.com/docs).",
].join("\n");

/** What a note's rendered content holds, read from the page. */
async function rendered(content: Locator) {
  return content.evaluate((element) => ({
    strong: [...element.querySelectorAll("strong")].map((node) => node.textContent),
    em: [...element.querySelectorAll("em")].map((node) => node.textContent),
    items: [...element.querySelectorAll("ul > li")].map((node) => node.textContent),
    code: [...element.querySelectorAll("code")].map((node) => node.textContent),
    links: [...element.querySelectorAll("a")].map((node) => ({
      text: node.textContent,
      href: node.getAttribute("href"),
      rel: node.getAttribute("rel"),
      target: node.getAttribute("target"),
    })),
    headings: [...element.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((node) => node.tagName.toLowerCase()),
  }));
}

describe("notes written in Markdown", () => {
  const e2e = useE2E();

  /**
   * Without the page's Content-Security-Policy (axe-core needs that, and the rendering must be
   * safe on its own): an image or script that got through would load or run.
   */
  async function open(path: string): Promise<WatchedPage> {
    const watched = await e2e.openPage({ bypassCSP: true });
    await watched.page.goto(path);
    return watched;
  }

  test("a note's Markdown renders in every list: emphasis, a list, code, a safe link, a demoted heading", async () => {
    const person = await e2e.api.createPerson("Mark", "Down");
    const { page, errors, foreignRequests } = await open(`/people/${person.person_id}/notes`);
    await page.getByText("No notes yet").waitFor();
    // Written elsewhere: it arrives through the live updates, rendered like the others.
    await e2e.api.createNote(person.person_id, RICH);
    const row = page.locator(".note-row__content").first();
    await row.locator("strong").waitFor();
    const expected = {
      strong: ["bold"],
      em: ["Monday", "slanted"],
      items: ["first", "second"],
      code: ["npm test"],
      links: [{ text: "the docs", href: "https://example.com/docs", rel: REL, target: "_blank" }],
    };
    // Under the list's heading of level 2, the note's `#` is a level 3.
    assert.deepEqual(await rendered(row), { ...expected, headings: ["h3"] });
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Mark Down");
    assert.equal(await page.getByRole("heading", { level: 3, name: "Plans for Monday" }).count(), 1);

    // The home page's list sits under its h1: the note's `#` is an h2 there.
    await page.goto("/");
    const card = page.locator(".note-card", { hasText: "Plans for Monday" }).locator(".note-card__content");
    await card.locator("strong").waitFor();
    assert.deepEqual(await rendered(card), { ...expected, headings: ["h2"] });

    // Search results sit under an h2; the word is found through the markup and marked inside it.
    await page.goto("/?q=bold");
    const found = page.locator(".search-results .note-card__content").first();
    await found.locator("strong mark").waitFor();
    assert.deepEqual(await rendered(found), { ...expected, headings: ["h3"] });
    assert.deepEqual(await page.locator(".search-results mark").allTextContents(), ["bold"]);

    // The API keeps the text as it was typed.
    const notes = await e2e.api.request<{ content: string }[]>("GET", `/people/${person.person_id}/notes`);
    assert.deepEqual(
      notes.map((note) => note.content),
      [RICH],
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(foreignRequests, []);
    await e2e.api.deletePerson(person.person_id);
  });

  test("HTML, script links and images in a note are harmless text or inert links", async () => {
    const person = await e2e.api.createPerson("Mallory", "Markdown");
    const attacks = {
      img: "<img src=x onerror=alert(1)>",
      script: "<script>alert(2)</script>",
      javascript: "[x](javascript:alert(3))",
      encoded: "[y](JaVaScRiPt:alert(4)) and <javascript:alert(5)>",
      data: "[z](data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==)",
      vbscript: "[w](vbscript:msgbox(7))",
      image: "![a picture](https://example.com/picture.png)",
      local: "![local](/favicon.svg)",
    };
    for (const content of Object.values(attacks).reverse()) await e2e.api.createNote(person.person_id, content);
    const { page, dialogs, foreignRequests, errors } = await open(`/people/${person.person_id}/notes`);
    const rows = page.locator(".note-row__content");
    await rows.nth(Object.keys(attacks).length - 1).waitFor();
    const row = (index: number) => rows.nth(index);

    // Typed HTML is shown as the text it is.
    assert.equal(await row(0).textContent(), attacks.img);
    assert.equal(await row(1).textContent(), attacks.script);
    // Links to anything but http, https, mailto or a relative address stay text: nothing to click.
    for (const index of [2, 3, 4, 5]) {
      assert.equal(await row(index).locator("a").count(), 0, Object.values(attacks)[index]);
    }
    assert.equal(await row(2).textContent(), attacks.javascript);
    // An image is never loaded, from anywhere: it is a link to its address.
    assert.deepEqual((await rendered(row(6))).links, [
      { text: "a picture", href: "https://example.com/picture.png", rel: REL, target: "_blank" },
    ]);
    assert.deepEqual((await rendered(row(7))).links, [
      { text: "local", href: "/favicon.svg", rel: REL, target: "_blank" },
    ]);
    assert.equal(await page.locator("main img, main script, main iframe, main object").count(), 0);
    const hrefs = await page
      .locator("main a[href]")
      .evaluateAll((links) => links.map((link) => link.getAttribute("href")));
    assert.deepEqual(
      hrefs.filter((href) => /^\s*(javascript|data|vbscript):/i.test(href ?? "")),
      [],
    );
    // Clicking the would-be links runs nothing.
    await row(2).click();
    await row(3).click();
    await settle(page);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(errors, []);
    await e2e.api.deletePerson(person.person_id);
  });

  test("Preview shows the draft rendered, and the tabs work with the keyboard", async () => {
    const person = await e2e.api.createPerson("Pre", "View");
    const { page } = await open(`/people/${person.person_id}/notes`);
    await page.getByText("No notes yet").waitFor();
    const field = page.getByLabel("Note", { exact: true });
    await field.fill("Very **loud** words\n\n1. one\n2. two");
    const write = page.getByRole("tab", { name: "Write" });
    const preview = page.getByRole("tab", { name: "Preview" });
    assert.equal(await write.getAttribute("aria-selected"), "true");

    await preview.click();
    const panel = page.getByRole("tabpanel", { name: "Preview" });
    await panel.locator("strong", { hasText: "loud" }).waitFor();
    assert.deepEqual(await panel.locator("ol > li").allTextContents(), ["one", "two"]);
    assert.equal(await preview.getAttribute("aria-selected"), "true");
    assert.equal(await field.isVisible(), false);
    const violations = await seriousAxeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));

    // The arrow keys, Home and End move between the tabs; only the chosen one is in the tab order.
    const focused = () => page.evaluate(() => document.activeElement?.id);
    await preview.focus();
    await page.keyboard.press("ArrowLeft");
    assert.equal(await focused(), "note-tab-write");
    assert.equal(await write.getAttribute("aria-selected"), "true");
    assert.equal(await preview.getAttribute("tabindex"), "-1");
    assert.equal(await field.isVisible(), true);
    assert.equal(await field.inputValue(), "Very **loud** words\n\n1. one\n2. two");
    await page.keyboard.press("ArrowRight");
    assert.equal(await focused(), "note-tab-preview");
    assert.equal(await preview.getAttribute("aria-selected"), "true");
    assert.equal(await write.getAttribute("tabindex"), "-1");
    await page.keyboard.press("Home");
    assert.equal(await focused(), "note-tab-write");
    await page.keyboard.press("End");
    assert.equal(await focused(), "note-tab-preview");
    await panel.locator("strong", { hasText: "loud" }).waitFor();

    // The note can be added from the preview; the editor is empty and writing again.
    await page.getByRole("button", { name: "Add note" }).click();
    await page.locator(".note-row__content strong", { hasText: "loud" }).waitFor();
    // The note can come by the live updates before the answer to the save, which empties the editor.
    await page.getByRole("status").filter({ hasText: "Note added." }).waitFor();
    assert.equal(await write.getAttribute("aria-selected"), "true");
    assert.equal(await field.inputValue(), "");
    await e2e.api.deletePerson(person.person_id);
  });

  test("a long note is folded in the lists, with Show more, and whole on its own", async () => {
    const person = await e2e.api.createPerson("Lon", "Gnote");
    const lines = Array.from({ length: 30 }, (_, n) => `Paragraph ${n + 1} of a long note.`);
    const long = await e2e.api.createNote(person.person_id, lines.join("\n\n"));
    await e2e.api.createNote(person.person_id, "A short one.");
    const { page } = await open(`/people/${person.person_id}/notes`);
    const longRow = page.locator(".note-row", { hasText: "Paragraph 1 of" });
    const shortRow = page.locator(".note-row", { hasText: "A short one." });
    const more = longRow.getByRole("button", { name: "Show more" });
    await more.waitFor();
    assert.equal(await shortRow.getByRole("button").count(), 0);
    assert.equal(await more.getAttribute("aria-expanded"), "false");
    const body = longRow.locator(".note-row__content");
    assert.equal(await more.getAttribute("aria-controls"), await body.getAttribute("id"));
    const cutOff = () => body.evaluate((element) => element.scrollHeight > element.clientHeight + 1);
    assert.equal(await cutOff(), true);

    await more.press("Enter");
    const less = longRow.getByRole("button", { name: "Show less" });
    assert.equal(await less.getAttribute("aria-expanded"), "true");
    assert.equal(await cutOff(), false);
    await less.click();
    assert.equal(await more.getAttribute("aria-expanded"), "false");
    assert.equal(await cutOff(), true);

    // On its own the note is shown whole: the preview of its text as it is.
    await page.goto(`/people/${person.person_id}/notes/${long.note_id}`);
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    await page.getByRole("tab", { name: "Preview" }).click();
    const whole = page.getByRole("tabpanel", { name: "Preview" }).locator(".note-preview__body");
    await whole.getByText("Paragraph 30 of a long note.").waitFor();
    assert.equal(await whole.evaluate((element) => element.scrollHeight > element.clientHeight + 1), false);
    assert.equal(await page.getByRole("tabpanel", { name: "Preview" }).getByRole("button").count(), 0);
    await e2e.api.deletePerson(person.person_id);
  });
});

describe("a long note read by someone who may not change it", () => {
  const e2e = useE2E();

  test("is shown whole on its own page", async () => {
    const person = await e2e.api.createPerson("Reada", "Only");
    const lines = Array.from({ length: 30 }, (_, n) => `Line ${n + 1} of a long note.`);
    const long = await e2e.api.createNote(person.person_id, lines.join("\n\n"));
    // A token turns access control on: signed out, the note is shown read-only.
    await e2e.createToken("admin", "Operator");
    const { page } = await e2e.openPage();
    await page.goto(`/people/${person.person_id}/notes/${long.note_id}`);
    const whole = page.locator(".editor__content");
    await whole.getByText("Line 30 of a long note.").waitFor();
    assert.equal(await whole.evaluate((element) => element.scrollHeight > element.clientHeight + 1), false);
    assert.equal(
      await page
        .locator(".editor")
        .getByRole("button", { name: /^Show (more|less)$/ })
        .count(),
      0,
    );
    // The list beside it folds it.
    await page.locator(".note-row").getByRole("button", { name: "Show more" }).waitFor();
  });
});
