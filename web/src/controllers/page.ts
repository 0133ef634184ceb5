import type { TemplateResult } from "lit";
import type { Route } from "../router.js";

/** What a page controller may ask of the app around it. */
export interface Host {
  /** Draws the page again from the controller's state. */
  update(): void;
  navigate(path: string, options?: { replace?: boolean }): void;
  /** Moves focus to the element matching `selector` once the page has been drawn. */
  focus(selector: string): void;
  /** A short confirmation of a finished action, shown briefly and read out by screen readers. */
  notify(message: string): void;
}

/** Holds one page's state, turns events into model calls, and hands its state to the page's view. */
export interface PageController {
  /** For the document title. */
  readonly title: string;
  /** `moveFocus`: the user chose something within this page, so focus goes to where they will act on it. */
  show(route: Route, moveFocus: boolean): void;
  view(): TemplateResult;
  dispose(): void;
}
