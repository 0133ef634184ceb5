import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { TUTORIAL_PEOPLE } from "../../src/db/seed.js";
import { runCli } from "../support/cli.js";
import { START_LIMIT_MS } from "../support/limits.js";
import { within } from "../support/server-process.js";
import { projectRoot, useE2E } from "./support.js";

/**
 * The README's screenshots (docs/screenshots/*.png) are made here, from the app as it is: the
 * tutorial's people and notes with fixed timestamps, a fixed viewport, time zone and locale, and
 * Doug Farrell signed in. Each page is checked first; a picture is written only when it differs
 * from the one in the repository, so every test run keeps them current and an unchanged app leaves
 * them untouched.
 */
const SCREENSHOTS = join(projectRoot, "docs/screenshots");
const VIEWPORT = { width: 1280, height: 800 };
/** When the tutorial's people were added, as the People page shows it. */
const PEOPLE_ADDED = "2019-01-06T21:00:00.000Z";
const DOUG = 1;

/** The tutorial's data as an export, ids and timestamps fixed. */
function tutorialExport(): string {
  const people: object[] = [];
  const notes: object[] = [];
  TUTORIAL_PEOPLE.forEach((person, index) => {
    const person_id = index + 1;
    people.push({ type: "person", person_id, ...names(person), timestamp: PEOPLE_ADDED, version: 1 });
    for (const [content, timestamp] of person.notes) {
      // Note ids in the tutorial's order: by person, then as listed.
      notes.push({ type: "note", note_id: notes.length + 1, person_id, content, timestamp, version: 1 });
    }
  });
  const lines = [
    { type: "export", format_version: 1 },
    ...people,
    ...notes,
    { type: "end", people: people.length, notes: notes.length },
  ];
  return `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`;
}

const names = ({ fname, lname }: { fname: string; lname: string }) => ({ fname, lname });

async function cli(databaseUrl: string, args: string[]) {
  const run = await within(runCli(args, { env: { DATABASE_URL: databaseUrl } }), START_LIMIT_MS, args.join(" "));
  assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
  return run;
}

/** Writes the page as it is on screen to docs/screenshots/<name>.png, unless it is the same already. */
async function keep(page: Page, name: string): Promise<void> {
  const picture = await page.screenshot({ animations: "disabled", caret: "hide" });
  const path = join(SCREENSHOTS, `${name}.png`);
  const before = await readFile(path).catch(() => undefined);
  if (!before?.equals(picture)) await writeFile(path, picture);
}

describe("the README's screenshots", () => {
  const e2e = useE2E();
  let token = "";

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "people-notes-screenshots-"));
    try {
      const file = join(dir, "tutorial.ndjson");
      await writeFile(file, tutorialExport());
      await cli(e2e.databaseUrl, ["import", file, "--replace"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    token = (await e2e.createToken({ person: DOUG }, "screenshots")).token;
  });

  /** A page signed in as Doug Farrell, once its live updates are connected. */
  async function open(path: string): Promise<Page> {
    const { page, context } = await e2e.openPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    await context.addInitScript((kept) => sessionStorage.setItem("people-notes.token", kept), token);
    await page.goto(path);
    await page.locator('[data-live="live"]').waitFor();
    await page.getByRole("banner").getByText("Signed in as Doug Farrell", { exact: true }).waitFor();
    return page;
  }

  test("home: the latest notes, the search box, Live and who is signed in", async () => {
    const page = await open("/");
    await page.getByText("Showing 7 of 7 notes").waitFor();
    assert.equal(await page.locator(".note-card__content").first().textContent(), "I'm really late delivering these!");
    await page.getByLabel("Search notes").waitFor();
    await keep(page, "home");
  });

  test("search: the notes matching a word, best match first, the word marked", async () => {
    const page = await open("/?q=useful");
    await page.getByText("Showing 2 of 2 matching notes").waitFor();
    assert.deepEqual(await page.locator(".search-results mark").allTextContents(), ["useful", "useful"]);
    await keep(page, "search");
  });

  test("people: everyone, and Doug editing his own names", async () => {
    const page = await open(`/people/${DOUG}`);
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    // The list loads apart from the person in the editor.
    await page.locator(".person-row").first().waitFor();
    assert.deepEqual(await page.locator(".person-row__name").allTextContents(), [
      "Kent Brockman",
      "Bunny Easter",
      "Doug Farrell",
    ]);
    assert.equal(await page.getByLabel("First name").inputValue(), "Doug");
    await keep(page, "people");
  });

  test("notes: Doug's notes, with the form to write one", async () => {
    const page = await open(`/people/${DOUG}/notes`);
    await page.getByRole("button", { name: "Add note" }).waitFor();
    // The list loads apart from the person, whose page shows the form.
    await page.locator(".note-row").first().waitFor();
    assert.deepEqual(await page.locator(".note-row__content").allTextContents(), [
      "Well, sort of useful",
      "This could be useful",
      "Cool, a mini-blogging application!",
    ]);
    await keep(page, "notes");
  });
});
