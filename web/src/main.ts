import { render } from "lit";
import { HomeController } from "./controllers/home-controller.js";
import { NotFoundController } from "./controllers/not-found-controller.js";
import { NotesController } from "./controllers/notes-controller.js";
import type { Host, PageController } from "./controllers/page.js";
import { PeopleController } from "./controllers/people-controller.js";
import { type Navigation, type Route, Router } from "./router.js";
import { layoutView } from "./views/layout.js";

const APP_NAME = "People & Notes";
const TOAST_MS = 4000;

function controllerFor(route: Route, host: Host): PageController {
  switch (route.page) {
    case "home":
      return new HomeController(host);
    case "people":
      return new PeopleController(host);
    case "notes":
      return new NotesController(host);
    case "not-found":
      return new NotFoundController();
  }
}

/** Routes each URL to its page controller and draws the page whenever a controller's state changes. */
class App implements Host {
  readonly #root: HTMLElement;
  readonly #router = new Router();
  #route: Route = { page: "not-found" };
  #controller: PageController | undefined;
  #toast: string | undefined;
  #toastTimer: number | undefined;
  /**
   * After a page change the heading has focus. Pages redraw their heading once loaded; focus then
   * falls back to the body, and is put back on the new heading.
   */
  #keepHeadingFocus = false;

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  start(): void {
    this.#router.start((route, navigation) => this.#show(route, navigation));
  }

  update(): void {
    if (!this.#controller) return;
    render(layoutView(this.#route, this.#controller.view(), this.#toast), this.#root);
    document.title = `${this.#controller.title} · ${APP_NAME}`;
    const focusLost = document.activeElement === null || document.activeElement === document.body;
    if (this.#keepHeadingFocus && focusLost) this.focus("h1");
  }

  navigate(path: string, options?: { replace?: boolean }): void {
    this.#router.navigate(path, options);
  }

  focus(selector: string): void {
    // Runs after the caller's current update has been drawn.
    queueMicrotask(() => {
      const element = this.#root.querySelector<HTMLElement>(selector);
      element?.focus();
    });
  }

  notify(message: string): void {
    this.#toast = message;
    window.clearTimeout(this.#toastTimer);
    this.#toastTimer = window.setTimeout(() => {
      this.#toast = undefined;
      this.update();
    }, TOAST_MS);
    this.update();
  }

  #show(route: Route, navigation: Navigation): void {
    const samePage = this.#controller !== undefined && route.page === this.#route.page;
    this.#route = route;
    this.#keepHeadingFocus = false;
    if (!samePage) {
      this.#controller?.dispose();
      this.#controller = controllerFor(route, this);
    }
    this.#controller?.show(route, samePage && navigation === "push");
    this.update();
    if (!samePage && navigation !== "initial") {
      window.scrollTo(0, 0);
      this.#keepHeadingFocus = true;
      this.focus("h1");
    }
  }
}

const root = document.getElementById("app");
if (root) {
  root.replaceChildren();
  new App(root).start();
}
