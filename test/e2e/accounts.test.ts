import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { runCli } from "../support/cli.js";
import { START_LIMIT_MS } from "../support/limits.js";
import { within } from "../support/server-process.js";
import { describeViolations, SEED, screenshot, seriousAxeViolations, useE2E } from "./support.js";

const banner = (page: Page) => page.getByRole("banner");
const PASSWORD = "a long and fine passphrase";

/**
 * WebAuthn takes `localhost` as the relying party, not `127.0.0.1`: the browser goes to the same
 * server by that name, as the operations guide tells people to.
 */
const byName = (origin: string) => origin.replace("127.0.0.1", "localhost");

/** A passkey authenticator in the browser, as a phone or laptop has: Chromium's virtual one, over CDP. */
async function addAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}

/** Runs `people-notes invite create` or `admin create` on the server's database; the link it printed. */
async function cliLink(databaseUrl: string, args: string[]): Promise<string> {
  const run = await within(runCli(args, { env: { DATABASE_URL: databaseUrl } }), START_LIMIT_MS, args.join(" "));
  assert.equal(run.code, 0, run.stderr);
  const link = run.stdout.trim();
  assert.match(link, /\/invite#pi_[A-Za-z0-9_-]{43}$/);
  return link;
}

/** The link, opened at the server the browser reaches as `localhost`. */
const at = (origin: string, link: string) => `${byName(origin)}${new URL(link).pathname}${new URL(link).hash}`;

async function noSeriousViolations(page: Page, what: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  assert.equal(violations.length, 0, `${what}:\n${describeViolations(violations)}`);
}

const sessionRows = (page: Page) => page.getByRole("region", { name: "Sessions" }).locator(".account-list__row");

describe("accounts in the browser", () => {
  const e2e = useE2E();

  test("an invite taken with a passkey; out and back in with it; a password, and the other session ended", async () => {
    const link = await cliLink(e2e.databaseUrl, ["invite", "create", "--person", String(SEED.doug.id)]);
    const laptop = await e2e.openPage({ baseURL: byName(e2e.origin) });
    const { page } = laptop;
    await addAuthenticator(laptop.context, page);

    await page.goto(at(e2e.origin, link));
    await page.getByRole("heading", { name: "Set up your account" }).waitFor();
    await page.getByLabel("Name this passkey").fill("Laptop");
    await page.getByRole("button", { name: "Create a passkey" }).click();
    await page.getByRole("heading", { name: "Your account", exact: true }).waitFor();
    assert.equal(new URL(page.url()).hash, "", "the used code leaves the address");
    await banner(page).getByText(`Signed in as ${SEED.doug.name}`).waitFor();
    await page.locator(".account-list__name", { hasText: "Laptop" }).waitFor();

    await banner(page).getByRole("button", { name: "Sign out" }).click();
    await banner(page).getByRole("button", { name: "Sign in" }).waitFor();
    await page.goto("/sign-in");
    await page.getByRole("main").getByRole("button", { name: "Sign in with a passkey" }).click();
    await banner(page).getByText(`Signed in as ${SEED.doug.name}`).waitFor();
    assert.equal(new URL(page.url()).pathname, "/");

    // A first password, without a current one: the account had only its passkey.
    await page.goto("/account");
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("status").filter({ hasText: "Password set." }).waitFor();
    await page.getByLabel("Current password").waitFor();

    const phone = await e2e.openPage({ baseURL: byName(e2e.origin) });
    await phone.page.goto("/sign-in");
    const form = phone.page.getByRole("main");
    await form.getByLabel("Name").fill("doug farrell");
    await form.getByLabel("Password").fill(PASSWORD);
    await form.getByRole("button", { name: "Sign in", exact: true }).click();
    await banner(phone.page).getByText(`Signed in as ${SEED.doug.name}`).waitFor();

    await page.reload();
    await sessionRows(page).nth(1).waitFor();
    assert.equal(await sessionRows(page).count(), 2);
    await sessionRows(page).filter({ hasText: "This device" }).waitFor();
    await screenshot(page, "account-sessions");
    await sessionRows(page).getByRole("button", { name: /^End/ }).click();
    await page.getByRole("status").filter({ hasText: "Session ended." }).waitFor();
    await sessionRows(page).nth(1).waitFor({ state: "detached" });

    await phone.page.reload();
    await banner(phone.page).getByRole("button", { name: "Sign in" }).waitFor();

    // With a password set, the passkey is no longer the only way in: renamed, then removed.
    const passkeys = page.getByRole("region", { name: "Passkeys" });
    await passkeys.getByRole("button", { name: "Rename Laptop" }).click();
    await passkeys.getByLabel("Passkey name").fill("Old laptop");
    await passkeys.getByRole("button", { name: "Save name" }).click();
    await passkeys.locator(".account-list__name", { hasText: "Old laptop" }).waitFor();
    await passkeys.getByRole("button", { name: "Remove Old laptop" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove passkey" }).click();
    await passkeys.getByText("No passkeys yet.").waitFor();
    assert.deepEqual(laptop.errors, []);
  });

  test("an admin's setup link and token from a person's page; a password; a token shown once", async () => {
    const adminLink = await cliLink(e2e.databaseUrl, ["admin", "create", "--name", "ops"]);
    const { page, errors } = await e2e.openPage({ baseURL: byName(e2e.origin) });
    await page.goto(at(e2e.origin, adminLink));
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password" }).click();
    await banner(page).getByText("Signed in as ops").waitFor();

    await page.goto(`/people/${SEED.kent.id}`);
    await page.getByRole("button", { name: "Make a setup link" }).click();
    const kentLink = await page.getByLabel(/^Setup link for Kent Brockman/).inputValue();
    assert.match(kentLink, /\/invite#pi_/);
    await page.getByRole("button", { name: "Done" }).click();

    // The admin makes Kent a token there (shown once, and it writes as Kent), then revokes it.
    const kentTokens = page.getByRole("region", { name: "Personal access tokens" });
    await kentTokens.getByText("No tokens yet.").waitFor();
    await kentTokens.getByLabel("New token's name").fill("Kent's feed");
    await kentTokens.getByRole("button", { name: "Make token" }).click();
    const kentToken = await kentTokens.getByLabel(/^New token “Kent's feed” for Kent Brockman/).inputValue();
    const asKent = await fetch(`${e2e.origin}/api/account`, { headers: { authorization: `Bearer ${kentToken}` } });
    assert.equal((await asKent.json()).token.person?.person_id, SEED.kent.id, "the token is Kent's");
    await kentTokens.getByRole("button", { name: "Done" }).click();
    await kentTokens.getByRole("button", { name: "Revoke Kent's feed" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
    await kentTokens.getByText(/^revoked/).waitFor();
    const refused = await fetch(`${e2e.origin}/api/account`, { headers: { authorization: `Bearer ${kentToken}` } });
    assert.equal(refused.status, 401, "a revoked token is refused");

    const kent = await e2e.openPage({ baseURL: byName(e2e.origin), bypassCSP: true });
    await kent.page.goto(at(e2e.origin, kentLink));
    await kent.page.getByLabel("New password").waitFor();
    await noSeriousViolations(kent.page, "the invite page");
    await kent.page.getByLabel("New password").fill(PASSWORD);
    await kent.page.getByRole("button", { name: "Set password" }).click();
    await banner(kent.page).getByText(`Signed in as ${SEED.kent.name}`).waitFor();

    await kent.page.getByLabel("New token's name").fill("Backup script");
    await kent.page.getByRole("button", { name: "Make token" }).click();
    const shown = kent.page.getByLabel(/^Your new token “Backup script”/);
    const token = await shown.inputValue();
    assert.match(token, /^pn_/);
    const read = await fetch(`${e2e.origin}/api/account`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await read.json()).token.name, "Backup script", "the token shown is the one made");
    await kent.page.locator(".account-list__name", { hasText: "Backup script" }).waitFor();
    await screenshot(kent.page, "account-token-made");
    await noSeriousViolations(kent.page, "the account page with a token shown");
    await kent.page.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "detached" });
    await kent.page.reload();
    await kent.page.locator(".account-list__name", { hasText: "Backup script" }).waitFor();
    assert.equal(await kent.page.content().then((html) => html.includes(token)), false, "shown once only");
    assert.deepEqual([...errors, ...kent.errors], []);
  });
});

describe("open sign-up in the browser", () => {
  const e2e = useE2E({ env: { SIGN_UP: "open" } });

  test("a visitor makes a person and an account with a password, and is signed in", async () => {
    const { page, errors } = await e2e.openPage({ baseURL: byName(e2e.origin) });
    await page.goto("/sign-in");
    await page.getByRole("link", { name: "Make an account" }).click();
    await page.getByRole("heading", { name: "Make an account" }).waitFor();
    const form = page.getByRole("main");
    await form.getByLabel("First name").fill("Quinn");
    await form.getByLabel("Last name").fill("Ashgrove");
    await form.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await form.getByRole("button", { name: "Make my account" }).click();
    await page.getByRole("heading", { name: "Your account", exact: true }).waitFor();
    await banner(page).getByText("Signed in as Quinn Ashgrove").waitFor();
    // The account is a new person's, with notes of their own.
    await page.getByRole("main").getByRole("link", { name: "Your notes" }).click();
    await page
      .getByRole("heading", { name: /Quinn Ashgrove/ })
      .first()
      .waitFor();
    assert.deepEqual(errors, []);
  });
});
