import { render } from "lit";
import { AccountController } from "./controllers/account-controller.js";
import { HomeController } from "./controllers/home-controller.js";
import { InviteController } from "./controllers/invite-controller.js";
import { NotFoundController } from "./controllers/not-found-controller.js";
import { NotesController } from "./controllers/notes-controller.js";
import type { FocusOptions, Host, PageController, ToastAction } from "./controllers/page.js";
import { PeopleController } from "./controllers/people-controller.js";
import { SessionController } from "./controllers/session-controller.js";
import { SignInController, SignUpController } from "./controllers/sign-in-controller.js";
import { TrashController } from "./controllers/trash-controller.js";
import { WebhooksController } from "./controllers/webhooks-controller.js";
import type { Access, PersonRef } from "./model/access.js";
import type { ApiError } from "./model/api.js";
import { LiveFeed } from "./model/live.js";
import { type Navigation, type PageMemory, type Route, Router } from "./router.js";
import { layoutView } from "./views/layout.js";

const APP_NAME = "People & Notes";
const TOAST_MS = 4000;
/** A confirmation with a button (Undo) stays long enough to reach the button. */
const TOAST_WITH_ACTION_MS = 10_000;
/** How long scrolling or a change must pause before the page's state is kept in its history entry. */
const REMEMBER_MS = 200;

function controllerFor(route: Route, host: Host, session: SessionController): PageController {
  switch (route.page) {
    case "home":
      return new HomeController(host);
    case "people":
      return new PeopleController(host);
    case "notes":
      return new NotesController(host);
    case "trash":
      return new TrashController(host);
    case "sign-in":
      return new SignInController(host, session);
    case "sign-up":
      return new SignUpController(host, session);
    case "invite":
      return new InviteController(host, session);
    case "account":
      return new AccountController(host, session);
    case "webhooks":
      return new WebhooksController(host);
    case "not-found":
      return new NotFoundController();
  }
}

/** Routes each URL to its page controller and draws the page whenever a controller's state changes. */
class App implements Host {
  readonly #root: HTMLElement;
  readonly #router = new Router();
  readonly #session = new SessionController(this);
  readonly live = new LiveFeed(() => this.update());
  #route: Route = { page: "not-found" };
  #controller: PageController | undefined;
  #toast: { message: string; action: ToastAction | undefined } | undefined;
  #toastTimer: number | undefined;
  /** What the history entry shown remembered of its page, when the page was entered through it. */
  #remembered: PageMemory | undefined;
  /** Where to scroll once the page has loaded its list again as remembered. */
  #pendingScroll: number | undefined;
  #rememberTimer: number | undefined;
  /**
   * After a page change the heading has focus. Pages redraw their heading once loaded; focus then
   * falls back to the body, and is put back on the new heading.
   */
  #keepHeadingFocus = false;

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  start(): void {
    void this.#session.start();
    // Whoever is signed in is shown by their names as they are now, whoever changed them.
    this.live.subscribe((change) => {
      if (change.event === "person.updated") this.#session.renamed(change.data);
    });
    this.live.start();
    window.addEventListener("scroll", () => this.#rememberSoon(), { passive: true });
    this.#router.start(
      (route, navigation, memory) => this.#show(route, navigation, memory),
      () => ({ scrollY: Math.round(window.scrollY), shown: this.#controller?.shown }),
    );
  }

  update(): void {
    if (!this.#controller) return;
    const page = layoutView(this.#route, {
      page: this.#controller.view(),
      toast: this.#toast,
      account: this.#session.accountView(),
      signInDialog: this.#session.dialogView(),
      live: this.live.status,
      access: this.#session.access,
    });
    render(page, this.#root);
    document.title = `${this.#controller.title} · ${APP_NAME}`;
    if (this.#keepHeadingFocus && focusLost()) this.#focusHeading();
    this.#rememberSoon();
  }

  navigate(path: string, options?: { replace?: boolean }): void {
    this.#router.navigate(path, options);
  }

  focus(selector: string | readonly string[], { ifLost = false }: FocusOptions = {}): void {
    if (ifLost && !focusLost()) return;
    const selectors = typeof selector === "string" ? [selector] : selector;
    // Runs after the caller's current update has been drawn.
    queueMicrotask(() => {
      for (const each of selectors) {
        const element = this.#root.querySelector<HTMLElement>(each);
        if (element) return element.focus();
      }
    });
  }

  get rememberedShown(): number | undefined {
    return this.#remembered?.shown;
  }

  restoreScroll(): void {
    const y = this.#pendingScroll;
    this.#pendingScroll = undefined;
    // Unless the user has scrolled meanwhile.
    if (y !== undefined && window.scrollY === 0) window.scrollTo(0, y);
  }

  /** Keeps the page's scroll position and list length in its history entry, once things are still. */
  #rememberSoon(): void {
    window.clearTimeout(this.#rememberTimer);
    this.#rememberTimer = window.setTimeout(() => {
      // While a page is being restored, its entry keeps what it remembered.
      if (this.#pendingScroll === undefined) this.#router.remember();
    }, REMEMBER_MS);
  }

  /** Focus on the page's heading, where the page is scrolled to: the top, or where it is being restored. */
  #focusHeading(): void {
    queueMicrotask(() => this.#root.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true }));
  }

  get access(): Access {
    return this.#session.access;
  }

  signIn(continueAt?: string): void {
    this.#session.openSignIn(undefined, continueAt);
  }

  unauthorized(error: ApiError, continueAt: string): void {
    this.#session.unauthorized(error, continueAt);
  }

  renamed(person: PersonRef): void {
    this.#session.renamed(person);
  }

  notify(message: string, action?: ToastAction): void {
    this.#toast = { message, action };
    window.clearTimeout(this.#toastTimer);
    this.#toastTimer = window.setTimeout(
      () => {
        this.#toast = undefined;
        this.update();
      },
      action ? TOAST_WITH_ACTION_MS : TOAST_MS,
    );
    this.update();
  }

  dismissNotice(): void {
    if (this.#toast === undefined) return;
    window.clearTimeout(this.#toastTimer);
    this.#toast = undefined;
    this.update();
  }

  #show(route: Route, navigation: Navigation, memory: PageMemory | undefined): void {
    // Whatever was not kept yet belonged to the entry just left.
    window.clearTimeout(this.#rememberTimer);
    const samePage = this.#controller !== undefined && route.page === this.#route.page;
    // Back, forward or reload into another page: it shows as many items as it did, scrolled as it was.
    this.#remembered = samePage ? undefined : memory;
    this.#pendingScroll = this.#remembered && this.#remembered.scrollY > 0 ? this.#remembered.scrollY : undefined;
    this.#route = route;
    this.#keepHeadingFocus = false;
    if (!samePage) {
      this.#controller?.dispose();
      this.#controller = controllerFor(route, this, this.#session);
    }
    this.#controller?.show(route, samePage && navigation === "push");
    this.update();
    if (!samePage && navigation !== "initial") {
      window.scrollTo(0, 0);
      this.#keepHeadingFocus = true;
      this.#focusHeading();
    }
  }
}

function focusLost(): boolean {
  const element = document.activeElement;
  if (element === null || element === document.body) return true;
  // An element no longer drawn, e.g. in a dialog that just closed, loses focus only on the next frame.
  return !element.isConnected || !element.checkVisibility();
}

const root = document.getElementById("app");
if (root) {
  root.replaceChildren();
  new App(root).start();
}
