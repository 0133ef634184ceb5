import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { describeViolations, localTime, screenshot, seriousAxeViolations, useE2E } from "./support.js";

/** Each page of the app, and what shows that it has finished loading. */
const PAGES: { name: string; path: string; ready: (page: Page) => Promise<void> }[] = [
  { name: "home", path: "/", ready: (page) => page.locator(".note-card").first().waitFor() },
  { name: "people", path: "/people", ready: (page) => page.locator(".person-row").first().waitFor() },
  {
    name: "person-edit",
    path: "/people/1",
    ready: async (page) => {
      await page.locator(".person-row").first().waitFor();
      await page.getByRole("heading", { name: "Edit person" }).waitFor();
      // The heading shows while the person is still loading; the form's button only once loaded.
      await page.getByRole("button", { name: "Save changes" }).waitFor();
    },
  },
  { name: "notes", path: "/people/1/notes", ready: (page) => page.locator(".note-row").first().waitFor() },
  {
    name: "note-edit",
    path: "/people/1/notes/2",
    ready: async (page) => {
      await page.locator(".note-row").first().waitFor();
      await page.getByRole("heading", { name: "Edit note" }).waitFor();
      // The heading shows while the note is still loading; the form's button only once loaded.
      await page.getByRole("button", { name: "Save note" }).waitFor();
    },
  },
  {
    name: "not-found",
    path: "/nowhere",
    ready: (page) => page.getByRole("heading", { name: "Page not found" }).waitFor(),
  },
];

/**
 * axe-core is injected as a script, which the app's policy rightly refuses; the policy itself is
 * checked by its own test below.
 */
const AXE_CONTEXT = { bypassCSP: true };

/** Records Content-Security-Policy violations from the first script on. */
const CSP_RECORDER = `window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});`;

describe("accessibility, small screens, privacy and security", () => {
  const e2e = useE2E();

  async function assertNoSeriousViolations(page: Page, label: string) {
    const violations = await seriousAxeViolations(page);
    assert.equal(violations.length, 0, `${label}:\n${describeViolations(violations)}`);
  }

  test("axe-core finds no serious or critical violation on any page", async () => {
    const { page } = await e2e.openPage(AXE_CONTEXT);
    for (const { name, path, ready } of PAGES) {
      await page.goto(path);
      await ready(page);
      await assertNoSeriousViolations(page, name);
    }
  });

  test("axe-core finds no serious or critical violation in error states and the dialog", async () => {
    const { page } = await e2e.openPage(AXE_CONTEXT);
    await page.goto("/people");
    await page.locator(".person-row").first().waitFor();
    await page.getByRole("button", { name: "Add person" }).click();
    await page.getByText("Enter a first name.").waitFor();
    await assertNoSeriousViolations(page, "field errors");

    await page.getByLabel("First name").fill("Doug");
    await page.getByLabel("Last name").fill("Farrell");
    await page.getByRole("button", { name: "Add person" }).click();
    await page.getByText("Doug Farrell already exists").waitFor();
    await assertNoSeriousViolations(page, "API error");

    await page.goto("/people/1/notes/1");
    await page.getByRole("heading", { name: "Edit note" }).waitFor();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("dialog").waitFor();
    await assertNoSeriousViolations(page, "confirm dialog");
    await page.keyboard.press("Escape");

    await page.goto("/people/77/notes");
    await page.getByText("Person not found for Id: 77").waitFor();
    await assertNoSeriousViolations(page, "missing person");
  });

  test("every page is usable 360 pixels wide, with nothing cut off sideways", async () => {
    const { page } = await e2e.openPage({
      ...AXE_CONTEXT,
      viewport: { width: 360, height: 760 },
      isMobile: true,
      hasTouch: true,
    });
    for (const { name, path, ready } of PAGES) {
      await page.goto(path);
      await ready(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - 360);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the screen`);
      for (const link of ["Home", "People"]) {
        const box = await page
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: link })
          .boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `${name}: ${link} link is on screen`);
      }
      await screenshot(page, `mobile-${name}`);
      await assertNoSeriousViolations(page, `${name} at 360px`);
    }

    // The longest names and words the API accepts still fit.
    const long = await e2e.api.createPerson("W".repeat(32), "M".repeat(32));
    await e2e.api.createNote(long.person_id, "x".repeat(400));
    for (const path of ["/", "/people", `/people/${long.person_id}`, `/people/${long.person_id}/notes`]) {
      await page.goto(path);
      await page.locator(".note-card, .person-row, .note-row").first().waitFor();
      await page.locator(".state--loading").waitFor({ state: "detached" });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - 360);
      assert.ok(overflow <= 0, `${path} with long names is ${overflow}px wider than the screen`);
    }
    await screenshot(page, "mobile-long-names");

    // A whole journey at that size: add a person, then write a note for them.
    await page.goto("/people");
    await page.getByLabel("First name").fill("Maggie");
    await page.getByLabel("Last name").fill("Simpson");
    await page.getByRole("button", { name: "Add person" }).tap();
    await page.getByRole("link", { name: "Maggie Simpson", exact: true }).waitFor();
    await page.getByRole("link", { name: "Notes by Maggie Simpson" }).tap();
    await page.getByRole("heading", { level: 1, name: "Maggie Simpson" }).waitFor();
    await page.getByLabel("Note", { exact: true }).fill("Squeak.");
    await page.getByRole("button", { name: "Add note" }).tap();
    await page.locator(".note-row__content", { hasText: "Squeak." }).waitFor();
  });

  test("a page load makes no request to any host but the server, and breaks no security policy", async () => {
    const watched = await e2e.openPage();
    const { page } = watched;
    await page.addInitScript(CSP_RECORDER);
    const first = await page.goto("/");
    const policy = first?.headers()["content-security-policy"] ?? "";
    const scriptSources = /script-src ([^;]*)/.exec(policy)?.[1] ?? "";
    assert.equal(scriptSources.trim(), "'self'", "scripts only from the server, none inline");
    for (const { name, path, ready } of PAGES) {
      await page.goto(path);
      await ready(page);
      const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
      assert.deepEqual(violations, [], name);
    }
    assert.deepEqual(watched.foreignRequests, []);
    const fonts = await page.evaluate(() => [...document.fonts].map((font) => font.family));
    assert.deepEqual(fonts, [], "no web fonts: the system font stack");
    const notFoundErrors = watched.errors.filter((error) => !/status of 404/.test(error));
    assert.deepEqual(notFoundErrors, []);
  });

  test("Swagger UI works under the same security policy, with nothing from outside", async () => {
    const watched = await e2e.openPage();
    const { page } = watched;
    await page.addInitScript(CSP_RECORDER);
    await page.goto("/api/ui/");
    await page.locator(".swagger-ui .info .title", { hasText: "People & Notes" }).waitFor();
    await page.locator(".opblock-summary-path", { hasText: "/people/{person_id}/notes/{note_id}" }).first().waitFor();
    const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
    assert.deepEqual(violations, []);
    assert.deepEqual(watched.foreignRequests, []);
  });

  test("every time on every page is local and readable, with the exact ISO time on hover", async () => {
    const { page } = await e2e.openPage();
    for (const { name, path, ready } of PAGES) {
      await page.goto(path);
      await ready(page);
      const times = await page.locator("time").evaluateAll((elements) =>
        elements.map((element) => ({
          datetime: element.getAttribute("datetime") ?? "",
          title: element.getAttribute("title") ?? "",
          text: element.textContent ?? "",
        })),
      );
      if (name !== "not-found") assert.ok(times.length > 0, `${name} shows times`);
      for (const time of times) {
        assert.match(time.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, name);
        assert.equal(time.title, time.datetime, name);
        assert.equal(time.text, localTime(time.datetime), name);
      }
    }
  });
});
