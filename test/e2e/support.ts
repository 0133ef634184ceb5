import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, afterEach, before } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Route,
} from "playwright-core";
import { runCli } from "../support/cli.js";
import { START_LIMIT_MS } from "../support/limits.js";
import { startServer as startServerProcess, within } from "../support/server-process.js";

export const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/**
 * Debian's Chromium as its headless shell (package chromium-headless-shell): the same engine as
 * /usr/bin/chromium without the browser's user interface, and half its CPU per test (measured in
 * docs/decisions.md, "A suite that people run").
 */
export const CHROMIUM_PATH = "/usr/bin/chromium-headless-shell";
const SCREENSHOT_DIR = join(projectRoot, "test-results/screenshots");
const AXE_PATH = join(projectRoot, "node_modules/axe-core/axe.min.js");

/** The server under test: a real `node dist/server.js` on its own fresh SQLite database. */
interface TestServer {
  origin: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<TestServer> {
  if (!existsSync(join(projectRoot, "dist/server.js")) || !existsSync(join(projectRoot, "web/dist/index.html"))) {
    throw new Error("the app is not built: run `npm run build` first (npm test does)");
  }
  const dir = await mkdtemp(join(tmpdir(), "people-notes-e2e-"));
  const databaseUrl = `sqlite:${dir}/e2e.db`;
  const server = await startServerProcess({ ...env, DATABASE_URL: databaseUrl });
  return {
    origin: server.url,
    databaseUrl,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium; a missing browser is a failure with instructions, never a skip. */
async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    const why = process.env.CI === "true" ? "CI=true and the browser is missing" : "the browser is missing";
    throw new Error(`${why}: install it: apt-get install -y chromium-headless-shell`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
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
}

/**
 * The one browser of this test process, launched the first time a suite needs it and shared by
 * every `useE2E` in the process (scripts/test-group.mjs runs several browser files in one process):
 * each suite and test still gets contexts of its own, and a browser started per suite cost more CPU
 * than many of the tests. It is closed by a hook on the root test, registered when this module is
 * first imported, which node:test runs once every test of every file in the process has ended; were
 * the process to end without it, Playwright kills the browser as the process exits.
 */
let processBrowser: Promise<Browser> | undefined;
function sharedBrowser(): Promise<Browser> {
  processBrowser ??= launchBrowser();
  return processBrowser;
}
after(async () => {
  const browser = processBrowser;
  processBrowser = undefined;
  await (await browser?.catch(() => undefined))?.close();
});

/** A page that records what should never happen: script errors, CSP violations, dialogs, foreign requests. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** console errors and uncaught exceptions */
  errors: string[];
  /** requests to any origin other than the server's */
  foreignRequests: string[];
  /** window.alert/confirm/prompt calls */
  dialogs: string[];
  close(): Promise<void>;
}

async function openPage(
  browser: Browser,
  server: TestServer,
  options: BrowserContextOptions = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    baseURL: server.origin,
    locale: "en-US",
    timezoneId: "Europe/Berlin",
    viewport: { width: 1280, height: 860 },
    ...options,
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const watched: WatchedPage = {
    page,
    context,
    errors: [],
    foreignRequests: [],
    dialogs: [],
    close: () => context.close(),
  };
  page.on("console", (message) => {
    if (message.type() === "error") watched.errors.push(message.text());
  });
  page.on("pageerror", (error) => watched.errors.push(error.message));
  page.on("request", (request) => {
    const url = request.url();
    if (url.startsWith("data:") || url.startsWith("blob:")) return;
    if (new URL(url).origin !== server.origin) watched.foreignRequests.push(url);
  });
  page.on("dialog", (dialog) => {
    watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return watched;
}

/** A token as `people-notes token create` made it. */
export interface MadeToken {
  id: number;
  token: string;
}

const CLI_TIMEOUT_MS = START_LIMIT_MS;

/** Runs `people-notes token …` on the server's database, as an operator would; its output. */
async function tokenCommand(databaseUrl: string, args: string[]) {
  const run = await within(
    runCli(["token", ...args], { env: { DATABASE_URL: databaseUrl } }),
    CLI_TIMEOUT_MS,
    `token ${args[0]}`,
  );
  if (run.code !== 0) throw new Error(`token ${args.join(" ")} exited with ${run.code}: ${run.stderr}`);
  return run;
}

/** What the browser tests of one suite share: a server with its own database, and a browser. */
export interface E2E {
  /** The server's address, e.g. `http://127.0.0.1:40123`. */
  readonly origin: string;
  /** The server's database, e.g. for the CLI. */
  readonly databaseUrl: string;
  /** Direct calls without a token; `api.withToken(…)` for writes once access control is on. */
  readonly api: ApiClient;
  /**
   * Makes an admin token, or one for a person: with the CLI until the suite has an admin token, then
   * with the API and that token. On loopback the first one turns access control on for the rest of
   * the suite.
   */
  createToken(holder: "admin" | { person: number }, name: string): Promise<MadeToken>;
  revokeToken(id: number): Promise<void>;
  /** A new page in its own browser context; it is closed after the test if the test has not closed it. */
  openPage(options?: BrowserContextOptions): Promise<WatchedPage>;
}

/**
 * Starts the server before the tests of the suite (or file) it is called in, and stops it after;
 * the browser is the process's own (launched by the first suite that needs it, closed after the
 * last). Its getters work only inside tests and hooks. `env` is more of the server's settings,
 * e.g. `{ SIGN_UP: "open" }`.
 */
export function useE2E({ env = {} }: { env?: Record<string, string> } = {}): E2E {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let api: ApiClient | undefined;
  /** An admin token made with the CLI on this server and not revoked since: it makes the later ones. */
  let maker: MadeToken | undefined;
  const open: WatchedPage[] = [];
  before(async () => {
    server = await startServer(env);
    api = new ApiClient(server.origin);
    browser = await sharedBrowser();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((watched) => watched.close()));
  });
  after(async () => {
    await server?.stop();
  });
  function started<T>(value: T | undefined): T {
    if (value === undefined) throw new Error("the server and browser start before the first test");
    return value;
  }
  return {
    get origin() {
      return started(server).origin;
    },
    get databaseUrl() {
      return started(server).databaseUrl;
    },
    get api() {
      return started(api);
    },
    async createToken(holder, name) {
      // The first admin token comes from the CLI, as on a real install; the later ones from the API
      // with it, which makes the same token without a process of its own (half a second of CPU each).
      if (maker !== undefined) {
        const response = await fetch(`${started(server).origin}/api/tokens`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${maker.token}` },
          body: JSON.stringify(
            holder === "admin" ? { name, kind: "admin" } : { name, kind: "person", person_id: holder.person },
          ),
        });
        if (response.status === 201) {
          const made = (await response.json()) as { token_id: number; token: string };
          return { id: made.token_id, token: made.token };
        }
        if (response.status !== 401) {
          throw new Error(`POST /api/tokens: ${response.status} ${await response.text()}`);
        }
        maker = undefined; // revoked some other way: the CLI makes the token
      }
      const kind = holder === "admin" ? ["--admin"] : ["--person", String(holder.person)];
      const run = await tokenCommand(started(server).databaseUrl, ["create", ...kind, "--name", name]);
      const id = /, id (\d+),/.exec(run.stderr)?.[1];
      if (id === undefined) throw new Error(`token create named no id: ${run.stderr}`);
      const made = { id: Number(id), token: run.stdout.trim() };
      if (holder === "admin") maker = made;
      return made;
    },
    async revokeToken(id) {
      // Revoked by another process, as an operator would: the server must see it on the next request.
      await tokenCommand(started(server).databaseUrl, ["revoke", String(id)]);
      if (maker?.id === id) maker = undefined;
    },
    async openPage(options) {
      const watched = await openPage(started(browser), started(server), options);
      open.push(watched);
      return watched;
    },
  };
}

/**
 * A full-page picture of what a test saw, in test-results/screenshots/, for a person looking into a
 * change of the pages: only when PEOPLE_NOTES_E2E_SCREENSHOTS=1. Nothing reads them, and the 24 the
 * browser files take cost about 3 s of CPU a run (Chromium paints and encodes the whole page).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.PEOPLE_NOTES_E2E_SCREENSHOTS !== "1") return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe-core in the page and returns the serious and critical violations. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations as AxeViolation[];
  });
  return violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical");
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    )
    .join("\n");
}

/** Direct calls to the API, for arranging data; the UI is what the tests exercise. */
export class ApiClient {
  constructor(
    private readonly origin: string,
    private readonly token?: string,
  ) {}

  /** The same calls, made with `Authorization: Bearer <token>`. */
  withToken(token: string): ApiClient {
    return new ApiClient(this.origin, token);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.origin}/api${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  createPerson(fname: string, lname: string) {
    return this.request<{ person_id: number; fname: string; lname: string; timestamp: string }>("POST", "/people", {
      fname,
      lname,
    });
  }

  createNote(personId: number, content: string) {
    return this.request<{ note_id: number; person_id: number; content: string; timestamp: string }>(
      "POST",
      `/people/${personId}/notes`,
      { content },
    );
  }

  readNote(personId: number, noteId: number) {
    return this.request<{ note_id: number; content: string }>("GET", `/people/${personId}/notes/${noteId}`);
  }

  updateNote(personId: number, noteId: number, content: string) {
    return this.request<{ note_id: number; content: string }>("PUT", `/people/${personId}/notes/${noteId}`, {
      content,
    });
  }

  deleteNote(personId: number, noteId: number) {
    return this.request<void>("DELETE", `/people/${personId}/notes/${noteId}`);
  }

  deletePerson(personId: number) {
    return this.request<void>("DELETE", `/people/${personId}`);
  }
}

/** The time as the app must show it in the test browser's zone and locale. */
export function localTime(iso: string, timeZone = "Europe/Berlin"): string {
  return new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
}

/** Seed data (the tutorial's), as the API returns it. */
export const SEED = {
  doug: { id: 1, name: "Doug Farrell" },
  kent: { id: 2, name: "Kent Brockman" },
  bunny: { id: 3, name: "Bunny Easter" },
  firstNote: { id: 1, personId: 1, content: "Cool, a mini-blogging application!", iso: "2019-01-06T22:17:54.000Z" },
  newestNote: { id: 7, personId: 3, content: "I'm really late delivering these!" },
};

/** Holds intercepted requests until the test opens the gate: ordering answers without timing. */
export function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open,
    /** Resolves once the gate is open. */
    opened: () => opened,
    async pass(route: Route): Promise<void> {
      await opened;
      await route.continue();
    },
  };
}

/** Moves the app to `path` without loading the page again, as the browser's back and forward buttons do. */
export async function goWithinApp(page: Page, path: string): Promise<void> {
  await page.evaluate((to) => {
    history.pushState(null, "", to);
    dispatchEvent(new PopStateEvent("popstate"));
  }, path);
}

/** Lets the page finish handling answers that have already arrived (one frame, then one task). */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve))));
}
