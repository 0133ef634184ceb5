import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { type RunningServer, startServer } from "../fault/server-process.js";

const CHROMIUM = "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "people-notes-swagger-"));
let server: RunningServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is required for browser tests: apt-get install -y chromium`);
  server = await startServer({ DATABASE_URL: `sqlite:${join(dir, "swagger.db")}` });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.child.kill("SIGTERM");
  await server?.exited;
  rmSync(dir, { recursive: true, force: true });
});

test("Swagger UI loads offline under the CSP and runs an operation against the API", async () => {
  const page = await browser.newPage();
  const foreign: string[] = [];
  const violations: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith("data:")) foreign.push(request.url());
  });
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });

  await page.goto(`${server.url}/api/ui/`);
  await page.getByText("People & Notes", { exact: false }).first().waitFor();
  const operation = page.locator(".opblock-get", { hasText: "Read one person" });
  await operation.locator(".opblock-summary").click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.locator("tr[data-param-name='person_id'] input").fill("1");
  await operation.getByRole("button", { name: "Execute" }).click();
  const body = operation.locator(".responses-wrapper .live-responses-table .microlight").first();
  await body.waitFor();
  assert.match((await body.textContent()) ?? "", /"lname": "Farrell"/);

  await page.screenshot({ path: "test-results/screenshots/swagger-ui.png", fullPage: false });
  assert.deepEqual(foreign, [], "Swagger UI makes no request outside the server");
  assert.deepEqual(violations, [], "nothing is blocked by the Content-Security-Policy");
});

test("Swagger UI shows every operation with its parameters and example body ready to try", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/api/ui/`);
  const operations = page.locator(".opblock");
  await operations.first().waitFor();
  assert.equal(await operations.count(), 11, "every operation in the contract is listed");
  for (const operation of await operations.all()) {
    await operation.locator(".opblock-summary").click();
    await operation.getByRole("button", { name: "Try it out" }).click();
    const names = await operation.locator(".parameter__name").allTextContents();
    for (const name of names)
      assert.match(name, /^(person_id|note_id|limit|cursor|Request body)/, "each parameter is resolved");
    if ((await operation.getAttribute("class"))?.match(/opblock-(post|put)/)) {
      const example = await operation.locator("textarea.body-param__text").inputValue();
      assert.ok(JSON.parse(example), "the request body comes filled with the contract's example");
    }
  }
  await page.close();
});
