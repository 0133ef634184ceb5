import { html, type TemplateResult } from "lit";
import type { Conflict } from "../model/selection.js";
import { timeView } from "./time.js";

export interface ConflictOptions<T extends { timestamp: string }> {
  conflict: Conflict<T>;
  /** What is edited, in lower case: "note", "person". */
  noun: string;
  /** The user's draft, and a saved version of the item, as plain text. */
  draft: TemplateResult;
  version: (item: T) => TemplateResult;
  /** Where the user can give up the draft of a deleted item. */
  newPath: string;
  saveAsNewLabel: string;
  busy: boolean;
}

export interface ConflictHandlers {
  keepMine: () => void;
  takeTheirs: () => void;
  saveAsNew: () => void;
  copyDraft: () => void;
}

/**
 * In place of the form when someone else changed or deleted the item meanwhile: the user's draft
 * beside the newer version, each under its own heading, and what to do about it. Its heading is
 * focused when it opens.
 */
export function conflictView<T extends { timestamp: string }>(options: ConflictOptions<T>, handlers: ConflictHandlers) {
  const { conflict, noun, draft, version, newPath, saveAsNewLabel, busy } = options;
  const mine = html`<section class="conflict__version" aria-labelledby="conflict-mine">
    <h4 id="conflict-mine" class="conflict__label">Your version (not saved)</h4>
    ${draft}
  </section>`;
  if (conflict.kind === "deleted") {
    return html`<div class="conflict" role="group" aria-labelledby="conflict-heading" aria-describedby="conflict-why">
      <h3 id="conflict-heading" class="conflict__title" tabindex="-1">This ${noun} was deleted</h3>
      <p id="conflict-why" class="conflict__why">
        Someone deleted it while you were editing, so your changes could not be saved. They are kept below.
      </p>
      <div class="conflict__versions">${mine}</div>
      <div class="form__actions">
        <button type="button" class="button button--primary" ?disabled=${busy} @click=${handlers.saveAsNew}>
          ${busy ? "Saving…" : saveAsNewLabel}
        </button>
        <button type="button" class="button button--secondary" @click=${handlers.copyDraft}>Copy your text</button>
        <a class="button button--danger-quiet" href=${newPath}>Discard your text</a>
      </div>
    </div>`;
  }
  const { theirs } = conflict;
  return html`<div class="conflict" role="group" aria-labelledby="conflict-heading" aria-describedby="conflict-why">
    <h3 id="conflict-heading" class="conflict__title" tabindex="-1">Someone else changed this ${noun}</h3>
    <p id="conflict-why" class="conflict__why">
      A newer version was saved ${timeView(theirs.timestamp)}, after you opened it. Your changes are kept: choose
      which version to keep.
    </p>
    <div class="conflict__versions">
      ${mine}
      <section class="conflict__version" aria-labelledby="conflict-theirs">
        <h4 id="conflict-theirs" class="conflict__label">Newer version (saved)</h4>
        ${version(theirs)}
      </section>
    </div>
    <div class="form__actions">
      <button type="button" class="button button--primary" @click=${handlers.keepMine}>Keep my version</button>
      <button type="button" class="button button--secondary" @click=${handlers.takeTheirs}>
        Use the newer version
      </button>
    </div>
    <p class="conflict__hint">
      Keeping yours saves it over the newer version; using the newer one discards your changes.
    </p>
  </div>`;
}
