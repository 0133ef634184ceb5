import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { operations as contractOperations, spec } from "../support/contract.js";
import { WAIT_LIMIT_MS } from "../support/limits.js";
import { projectRoot, SEED, screenshot, useE2E } from "./support.js";

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

/** Whether the contract gives the operation a request body. */
const hasRequestBody = (operation: (typeof contractOperations)[number]) =>
  "requestBody" in ((spec.paths[operation.template] as Record<string, object>)[operation.method.toLowerCase()] ?? {});

/**
 * Counts the resolutions of the contract by Swagger UI's resolver as theme.js's plugin reaches it
 * (`window.contractResolutions`): plain script text, run before the page's own.
 */
const COUNT_RESOLUTIONS = `
  let bundle;
  Object.defineProperty(window, "SwaggerUIBundle", {
    configurable: true,
    get: () => bundle,
    set(value) {
      const client = value.plugins.SwaggerClient;
      value.plugins.SwaggerClient = (system) => {
        const plugin = client(system);
        const resolve = plugin.fn.resolveSubtree;
        plugin.fn.resolveSubtree = (...args) => {
          window.contractResolutions = (window.contractResolutions ?? 0) + 1;
          return resolve(...args);
        };
        return plugin;
      };
      bundle = value;
    },
  });
`;

test("Swagger UI shows every operation with its parameters and example body ready to try", async () => {
  const { page } = await e2e.openPage();
  await page.addInitScript({ content: COUNT_RESOLUTIONS });
  await page.goto("/api/ui/");
  // The contract's `webhooks` (what endpoints are sent) are drawn in a section of their own, below.
  const operations = page.locator(".opblock:not(.webhooks .opblock)");
  await operations.first().waitFor();
  assert.equal(await operations.count(), contractOperations.length, "every operation in the contract is listed");
  const webhooks = Object.keys((spec as { webhooks?: object }).webhooks ?? {}).length;
  assert.equal(await page.locator(".webhooks .opblock").count(), webhooks, "and every webhook");
  const declared = new RegExp(`^(${[...parameterNames(), "Request body"].join("|")})`);
  let withBody = 0;
  // Each operation is opened, tried and closed inside the page, in one call: done with a call per
  // click and read, the 40-odd operations took a minute of round trips on a busy machine.
  for (const operation of await operations.all()) {
    const shown = await operation.evaluate(async (block, limit) => {
      // The first truthy `find()`, looked for each frame, for at most `limit` ms. Destructured, as a
      // function bound to a name by itself would call the test compiler's naming helper, which the
      // page has not.
      const [until] = [
        async <T>(what: string, find: () => T | null | undefined | false): Promise<T> => {
          const deadline = performance.now() + limit;
          for (;;) {
            const found = find();
            if (found) return found;
            if (performance.now() > deadline) throw new Error(`${what}: not within ${limit} ms`);
            await new Promise((frame) => requestAnimationFrame(frame));
          }
        },
      ];
      // What a click on the summary's middle lands on.
      const summary = block.querySelector<HTMLElement>(".opblock-summary-control");
      if (!summary) throw new Error("an operation without a summary to open it by");
      summary.click();
      const tryOut = await until("a visible Try it out button", () =>
        [...block.querySelectorAll<HTMLButtonElement>("button.try-out__btn")].find(
          (button) => button.textContent?.trim() === "Try it out" && button.checkVisibility() && !button.disabled,
        ),
      );
      tryOut.click();
      await until("trying it out", () => block.querySelector("button.try-out__btn.cancel"));
      const names = [...block.querySelectorAll(".parameter__name")].map((name) => name.textContent ?? "");
      const hasBody = block.querySelector(".opblock-section-request-body") !== null;
      const example = hasBody
        ? (await until("the request body", () => block.querySelector<HTMLTextAreaElement>("textarea.body-param__text")))
            .value
        : undefined;
      // Closed again: every open operation is redrawn with each click, so the page would slow down
      // with each one left open.
      summary.click();
      await until("the operation closed", () => block.querySelector(".opblock-body") === null);
      return { names, example };
    }, WAIT_LIMIT_MS);
    for (const name of shown.names) {
      assert.match(name, declared, "each parameter is resolved");
    }
    if (shown.example !== undefined) {
      assert.ok(JSON.parse(shown.example), "the request body comes filled with the contract's example");
      withBody++;
    }
  }
  assert.equal(withBody, contractOperations.filter(hasRequestBody).length, "every request body is shown");
  assert.equal(
    await page.evaluate(() => (window as { contractResolutions?: number }).contractResolutions),
    1,
    "the contract is resolved once, not once per operation opened",
  );
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

  /** "Write a note for a person", opened and tried out for `personId`; `execute` answers with the response. */
  async function noteWriter(page: Page, personId: number) {
    const operation = page.locator(".opblock-post", { hasText: "Write a note for a person" });
    await operation.locator(".opblock-summary").click();
    await operation.getByRole("button", { name: "Try it out" }).click();
    await operation.locator("tr[data-param-name='person_id'] input").fill(String(personId));
    return {
      async execute() {
        const answered = page.waitForResponse(
          (response) =>
            response.request().method() === "POST" && response.url().endsWith(`/api/people/${personId}/notes`),
        );
        await operation.getByRole("button", { name: "Execute" }).click();
        return answered;
      },
      shownStatus: operation.locator(".live-responses-table .response-col_status"),
    };
  }

  test("its Authorize button takes a token, and a write refused without it (401) then succeeds (201)", async () => {
    const admin = await withTokens.createToken("admin", "swagger");
    const { page, errors } = await withTokens.openPage();
    await page.goto("/api/ui/");
    const { execute, shownStatus } = await noteWriter(page, 1);

    const refused = await execute();
    assert.equal(refused.status(), 401);
    await shownStatus.filter({ hasText: "401" }).waitFor();

    await page.locator(".auth-wrapper .btn.authorize").click();
    // The bearer scheme's part of the dialog (the session cookie has its own).
    const authorize = page.locator(".modal-ux form", { has: page.locator("#auth-bearer-value") });
    await authorize.getByRole("textbox").fill(admin.token);
    await authorize.getByRole("button", { name: "Apply credentials" }).click();
    await page.locator(".modal-ux .close-modal").click();

    const accepted = await execute();
    assert.equal(accepted.status(), 201);
    assert.equal(accepted.request().headers().authorization, `Bearer ${admin.token}`);
    await shownStatus.filter({ hasText: "201" }).waitFor();
    const errorsBut401 = errors.filter((error) => !/status of 401/.test(error));
    assert.deepEqual(errorsBut401, []);
  });

  test("a person signed in to the app writes with the session cookie alone, without Authorize (201)", async () => {
    // An admin invites Bunny; the invite is taken with a password from the page, which signs her in.
    const admin = await withTokens.createToken("admin", "swagger invites");
    const invite = await fetch(`${withTokens.origin}/api/invites`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ person_id: SEED.bunny.id }),
    });
    assert.equal(invite.status, 201);
    const { code } = (await invite.json()) as { code: string };
    const { page, errors } = await withTokens.openPage();
    await page.goto("/api/ui/");
    const { execute, shownStatus } = await noteWriter(page, SEED.bunny.id);

    // Not signed in yet: the same write is refused.
    const refused = await execute();
    assert.equal(refused.status(), 401);
    await shownStatus.filter({ hasText: "401" }).waitFor();

    const signedIn = await page.evaluate(
      async (body) =>
        (
          await fetch("/api/invites/accept", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          })
        ).status,
      { code, password: "a long and fine passphrase" },
    );
    assert.equal(signedIn, 200);

    const accepted = await execute();
    assert.equal(accepted.status(), 201, await accepted.text());
    const sent = await accepted.request().allHeaders();
    assert.equal(sent.authorization, undefined, "no token: the Authorize dialog was not used");
    assert.match(sent.cookie ?? "", /\bpn_session=/, "the browser sent the session cookie");
    assert.equal(((await accepted.json()) as { person_id: number }).person_id, SEED.bunny.id);
    await shownStatus.filter({ hasText: "201" }).waitFor();
    const errorsBut401 = errors.filter((error) => !/status of 401/.test(error));
    assert.deepEqual(errorsBut401, []);
  });
});
