import type { TemplateResult } from "lit";
import type { Access, PersonRef } from "../model/access.js";
import type { ApiError } from "../model/api.js";
import type { LiveFeed } from "../model/live.js";
import type { Route } from "../router.js";

export interface FocusOptions {
  /** Only if nothing has focus now, e.g. because the update just drawn removed the element that had it. */
  ifLost?: boolean;
}

/** A button in the confirmation: "Undo" after a delete. */
export interface ToastAction {
  label: string;
  run(): void;
}

/** What a page controller may ask of the app around it. */
export interface Host {
  /** Draws the page again from the controller's state. */
  update(): void;
  navigate(path: string, options?: { replace?: boolean }): void;
  /**
   * Moves focus to the element matching `selector` once the page has been drawn; given several,
   * to the first of them that is on the page.
   */
  focus(selector: string | readonly string[], options?: FocusOptions): void;
  /**
   * A short confirmation of a finished action, shown briefly and read out by screen readers; with
   * an action (Undo), a button beside it for a little longer.
   */
  notify(message: string, action?: ToastAction): void;
  /** Takes the confirmation shown away at once, e.g. when an error now says something else. */
  dismissNotice(): void;
  /** What the signed-in user may change; the pages offer no control for anything else. */
  readonly access: Access;
  /** Opens the sign-in dialog; once signed in, focus goes to `continueAt` when it is on the page. */
  signIn(continueAt?: string): void;
  /** A change was refused for want of a usable token: signs out and asks for one. */
  unauthorized(error: ApiError, continueAt: string): void;
  /** A person's names were changed here: the navigation bar shows the new ones if that is who is signed in. */
  renamed(person: PersonRef): void;
  /** Everyone's changes as they happen, for the lists to follow. */
  readonly live: LiveFeed;
  /**
   * How many items the page's list showed when the user left this history entry, for back,
   * forward and reload to show as many again; undefined for a new entry.
   */
  readonly rememberedShown: number | undefined;
  /** The list is loaded again as remembered: scrolls back to where the user was, if they have not scrolled meanwhile. */
  restoreScroll(): void;
}

/** Holds one page's state, turns events into model calls, and hands its state to the page's view. */
export interface PageController {
  /** For the document title. */
  readonly title: string;
  /** `moveFocus`: the user chose something within this page, so focus goes to where they will act on it. */
  show(route: Route, moveFocus: boolean): void;
  view(): TemplateResult;
  dispose(): void;
  /** How many items the page's list shows, kept in the history entry when it is left. */
  readonly shown?: number;
}
