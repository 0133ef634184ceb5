/** The pages of the app, addressed by the same paths the server answers with index.html. */
export type Route =
  | { page: "home" }
  | { page: "people"; personId: number | undefined }
  | { page: "notes"; personId: number; noteId: number | undefined }
  | { page: "trash" }
  | { page: "sign-in" }
  | { page: "sign-up" }
  /** The invite's code is in the address's fragment, which the browser sends to no server. */
  | { page: "invite" }
  | { page: "account" }
  | { page: "webhooks" }
  | { page: "not-found" };

const ID = "([1-9][0-9]{0,15})";
const PATTERNS: [RegExp, (ids: number[]) => Route][] = [
  [/^\/$/, () => ({ page: "home" })],
  [/^\/people$/, () => ({ page: "people", personId: undefined })],
  [/^\/trash$/, () => ({ page: "trash" })],
  [/^\/sign-in$/, () => ({ page: "sign-in" })],
  [/^\/sign-up$/, () => ({ page: "sign-up" })],
  [/^\/invite$/, () => ({ page: "invite" })],
  [/^\/account$/, () => ({ page: "account" })],
  [/^\/webhooks$/, () => ({ page: "webhooks" })],
  [new RegExp(`^/people/${ID}$`), ([personId]) => ({ page: "people", personId: personId as number })],
  [
    new RegExp(`^/people/${ID}/notes$`),
    ([personId]) => ({ page: "notes", personId: personId as number, noteId: undefined }),
  ],
  [
    new RegExp(`^/people/${ID}/notes/${ID}$`),
    ([personId, noteId]) => ({ page: "notes", personId: personId as number, noteId: noteId as number }),
  ],
];

export function parseRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  for (const [pattern, toRoute] of PATTERNS) {
    const match = pattern.exec(path);
    if (!match) continue;
    const ids = match.slice(1).map(Number);
    if (ids.every(Number.isSafeInteger)) return toRoute(ids);
  }
  return { page: "not-found" };
}

export const paths = {
  home: () => "/",
  people: () => "/people",
  person: (personId: number) => `/people/${personId}`,
  notes: (personId: number) => `/people/${personId}/notes`,
  note: (personId: number, noteId: number) => `/people/${personId}/notes/${noteId}`,
  trash: () => "/trash",
  signIn: () => "/sign-in",
  signUp: () => "/sign-up",
  invite: () => "/invite",
  account: () => "/account",
  webhooks: () => "/webhooks",
};

/** The address as far as the app's state goes: the path and the query, not the hash. */
const shownAddress = () => window.location.pathname + window.location.search;

/** How the current route was reached: focus and scroll behave differently for each. */
export type Navigation = "initial" | "push" | "pop";

/**
 * What a history entry keeps of its page when it is left, so that back, forward and reload show
 * it as it was: how far it was scrolled, and how many items its list showed after "Load more".
 */
export interface PageMemory {
  scrollY: number;
  shown: number | undefined;
}

function memoryIn(state: unknown): PageMemory | undefined {
  if (typeof state !== "object" || state === null) return undefined;
  const { scrollY, shown } = state as Record<string, unknown>;
  if (typeof scrollY !== "number" || !Number.isFinite(scrollY)) return undefined;
  return { scrollY, shown: typeof shown === "number" && Number.isSafeInteger(shown) ? shown : undefined };
}

/** `memory`: what the entry shown remembers (back, forward, reload); none for a new one. */
type Listener = (route: Route, navigation: Navigation, memory: PageMemory | undefined) => void;

/**
 * History API routing: same-origin links are followed without a page load, and back/forward
 * replay the same routes, so every state of the app has a URL that survives a reload.
 */
export class Router {
  #listener: Listener | undefined;
  #memory: (() => PageMemory) | undefined;
  #shownPath: string | undefined;

  /** `memory`: the page's state as it is now, kept in its history entry when it is left. */
  start(listener: Listener, memory: () => PageMemory): void {
    this.#listener = listener;
    this.#memory = memory;
    // The app puts the scroll position back itself, once the page has loaded what it showed.
    history.scrollRestoration = "manual";
    window.addEventListener("popstate", () => {
      // A jump to an in-page anchor changes only the hash: the page stays as it is. A change of
      // the query (a search on the home page) is a change of state.
      if (shownAddress() !== this.#shownPath) this.#emit("pop");
    });
    document.addEventListener("click", (event) => this.#followLink(event));
    this.#emit("initial");
  }

  navigate(path: string, { replace = false } = {}): void {
    if (path === shownAddress()) {
      this.#emit("push");
      return;
    }
    if (replace) {
      history.replaceState(null, "", path);
    } else {
      this.remember();
      history.pushState(null, "", path);
    }
    this.#emit("push");
  }

  /** Keeps the page's state in its history entry (the entry shown now). */
  remember(): void {
    if (this.#memory) history.replaceState(this.#memory(), "");
  }

  #emit(navigation: Navigation): void {
    this.#shownPath = shownAddress();
    const memory = navigation === "push" ? undefined : memoryIn(history.state);
    this.#listener?.(parseRoute(window.location.pathname), navigation, memory);
  }

  #followLink(event: MouseEvent): void {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a[href]");
    if (!(anchor instanceof HTMLAnchorElement) || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith("/api")) return;
    // In-page anchors such as the skip link keep their native behaviour.
    if (url.hash && url.pathname === window.location.pathname) return;
    if (parseRoute(url.pathname).page === "not-found") return;
    event.preventDefault();
    this.navigate(url.pathname);
  }
}
