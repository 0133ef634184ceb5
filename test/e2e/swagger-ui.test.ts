import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { operations as contractOperations, spec } from "../support/contract.js";
import { projectRoot, screenshot, useE2E } from "./support.js";

type Parameter = { name?: string; $ref?: string };

/** Every parameter name the contract declares, inline or under components. */
function parameterNames(): string[] {
  const names = new Set<string>();
  const components = (spec.components as { parameters?: Record<string, Parameter> }).parameters ?? {};
  for (const parameter of Object.values(components)) if (parameter.name) names.add(parameter.name);
  for (const item of Object.values(spec.paths)) {
    for (const operation of Object.values(item as Record<string, { parameters?: Parameter[] }>)) {
      for (const parameter of operation.parameters ?? []) if (parameter.name) names.add(parameter.name);
    }
  }
  return [...names];
}

const e2e = useE2E();

test("Swagger UI loads offline under the CSP and runs an operation against the API", async () => {
  const { page, foreignRequests, errors } = await e2e.openPage();
  await page.goto("/api/ui/");
  const operation = page.locator(".opblock-get", { hasText: "Read one person" });
  await operation.locator(".opblock-summary").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.locator("tr[data-param-name='person_id'] input").fill("1");
  await operation.getByRole("button", { name: "Execute" }).click();
  const body = operation.locator(".responses-wrapper .live-responses-table .microlight").first();
  await body.waitFor();
  assert.match((await body.textContent()) ?? "", /"lname": "Farrell"/);

  await screenshot(page, "swagger-ui");
  assert.deepEqual(foreignRequests, [], "Swagger UI makes no request outside the server");
  assert.deepEqual(errors, [], "no script error and nothing blocked by the Content-Security-Policy");
});

test("Swagger UI shows every operation with its parameters and example body ready to try", async () => {
  const { page } = await e2e.openPage();
  await page.goto("/api/ui/");
  const operations = page.locator(".opblock");
  await operations.first().waitFor();
  assert.equal(await operations.count(), contractOperations.length, "every operation in the contract is listed");
  const declared = new RegExp(`^(${[...parameterNames(), "Request body"].join("|")})`);
  for (const operation of await operations.all()) {
    await operation.locator(".opblock-summary").click();
    await operation.getByRole("button", { name: "Try it out" }).click();
    const names = await operation.locator(".parameter__name").allTextContents();
    for (const name of names) {
      assert.match(name, declared, "each parameter is resolved");
    }
    if ((await operation.getAttribute("class"))?.match(/opblock-(post|put)/)) {
      const example = await operation.locator("textarea.body-param__text").inputValue();
      assert.ok(JSON.parse(example), "the request body comes filled with the contract's example");
    }
  }
});

test("Swagger UI fits a phone, shows the app's own mark, and says what the service is once", async () => {
  const { page, foreignRequests, errors } = await e2e.openPage({
    viewport: { width: 360, height: 760 },
    isMobile: true,
    hasTouch: true,
  });
  await page.goto("/api/ui/");
  await page.locator(".opblock").first().waitFor();
  assert.equal(
    await page.evaluate(() => window.innerWidth),
    360,
    "laid out for the phone, not a zoomed-out desktop page",
  );
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - 360);
  assert.ok(overflow <= 0, `${overflow}px wider than the screen`);
  const cutOff = await page
    .locator(".opblock-summary")
    .evaluateAll((summaries) => summaries.filter((summary) => summary.getBoundingClientRect().right > 360).length);
  assert.equal(cutOff, 0, "every operation's line fits the screen");
  const fontSize = await page
    .locator(".opblock-summary-description")
    .first()
    .evaluate((element) => Number.parseFloat(getComputedStyle(element).fontSize));
  assert.ok(fontSize >= 13, `descriptions are readable (${fontSize}px)`);

  // The top bar has the app's mark and name, leading back to the app; nothing of Fastify's.
  const brand = page.locator(".swagger-ui .topbar a.link");
  await brand.filter({ hasText: "People & Notes" }).waitFor();
  assert.equal(await brand.getAttribute("href"), "/");
  const logo = (await brand.locator("img").getAttribute("src")) ?? "";
  const svg = Buffer.from(logo.replace(/^data:image\/svg\+xml;base64,/, ""), "base64").toString("utf8");
  assert.equal(svg, readFileSync(join(projectRoot, "web/public/favicon.svg"), "utf8"), "the app's own mark");

  // The summary and the description said the same thing: it is said once.
  assert.equal(
    await page
      .getByText(/write short notes/i)
      .filter({ visible: true })
      .count(),
    1,
  );
  await screenshot(page, "mobile-swagger-ui");
  assert.deepEqual(foreignRequests, [], "nothing from outside the server");
  assert.deepEqual(errors, []);
});

describe("Swagger UI once access control is on", () => {
  const withTokens = useE2E();

  test("its Authorize button takes a token, and a write refused without it (401) then succeeds (201)", async () => {
    const admin = await withTokens.createToken("admin", "swagger");
    const { page, errors } = await withTokens.openPage();
    await page.goto("/api/ui/");
    const operation = page.locator(".opblock-post", { hasText: "Write a note for a person" });
    await operation.locator(".opblock-summary").click();
    await operation.getByRole("button", { name: "Try it out" }).click();
    await operation.locator("tr[data-param-name='person_id'] input").fill("1");
    const execute = async () => {
      const answered = page.waitForResponse(
        (response) => response.request().method() === "POST" && response.url().endsWith("/api/people/1/notes"),
      );
      await operation.getByRole("button", { name: "Execute" }).click();
      return answered;
    };
    const shownStatus = operation.locator(".live-responses-table .response-col_status");

    const refused = await execute();
    assert.equal(refused.status(), 401);
    await shownStatus.filter({ hasText: "401" }).waitFor();

    await page.locator(".auth-wrapper .btn.authorize").click();
    const authorize = page.locator(".modal-ux");
    await authorize.getByRole("textbox").fill(admin.token);
    await authorize.getByRole("button", { name: "Apply credentials" }).click();
    await authorize.getByRole("button", { name: "Close" }).click();

    const accepted = await execute();
    assert.equal(accepted.status(), 201);
    assert.equal(accepted.request().headers().authorization, `Bearer ${admin.token}`);
    await shownStatus.filter({ hasText: "201" }).waitFor();
    const errorsBut401 = errors.filter((error) => !/status of 401/.test(error));
    assert.deepEqual(errorsBut401, []);
  });
});
