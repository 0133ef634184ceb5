import { html, nothing, type TemplateResult } from "lit";
import { type EditorState, selectedValue } from "../model/selection.js";
import { type ConflictHandlers, conflictView } from "./conflict.js";
import { loadingView, problemView } from "./feedback.js";
import { timeView } from "./time.js";

interface EditorOptions<T> {
  editor: EditorState<T>;
  problem: string | undefined;
  /** What is edited, in lower case: "note", "person". */
  noun: string;
  idOf: (item: T) => number;
  /** The heading and the line below it while writing a new one. */
  newTitle: string;
  newIntro: string;
  addLabel: string;
  saveLabel: string;
  /** The page with the form empty for a new one: where Cancel leads, and the way on from a missing item. */
  newPath: string;
  /** The link to `newPath` in place of an item that could not be loaded. */
  newInstead: string;
  fields: TemplateResult;
  /** Below the form while an item is open. */
  footer?: (item: T) => TemplateResult;
  /** What the signed-in user may do here; nothing else is offered. */
  may: { add: boolean; change: (item: T) => boolean; delete: (item: T) => boolean };
  /** An open item the user may not change, in place of the form; also the newer version in a conflict. */
  readOnly: (item: T) => TemplateResult;
  /** The newer version in a conflict, under a heading of level 4; `readOnly` when not given. */
  newerVersion?: (item: T) => TemplateResult;
  /** The user's draft as plain text, beside the newer version in a conflict. */
  draft: TemplateResult;
  /** Saves the draft of an item someone deleted meanwhile. */
  saveAsNewLabel: string;
  /** The heading in place of `newTitle` when the user may not add one. */
  lockedTitle: string;
  /** Why the form is not offered, for the open item or a new one, and what the user can do instead. */
  locked: (item: T | undefined) => TemplateResult;
}

/** What an editor's view asks of its controller: the same on every page that edits a resource. */
export interface EditorHandlers extends ConflictHandlers {
  submit: () => void;
  remove: () => void;
  dismissProblem: () => void;
  /** Opens the sign-in dialog from a notice that says why the form is not offered. */
  signIn: () => void;
}

/**
 * Inside a page's editor card: writes a new item, or changes or deletes the open one. Its heading
 * has the id `editor-heading`, which labels the card.
 */
export function editorView<T extends { timestamp: string }>(options: EditorOptions<T>, handlers: EditorHandlers) {
  const { editor, problem, noun, idOf, newTitle, newIntro, newPath, newInstead, footer } = options;
  const { may, readOnly, lockedTitle, locked } = options;
  const { selection, busy } = editor;
  const Noun = `${noun.charAt(0).toUpperCase()}${noun.slice(1)}`;
  if (selection.status === "loading") {
    return html`<h2 id="editor-heading" class="section-title">Edit ${noun}</h2>
      ${loadingView(`Loading ${noun}…`)}`;
  }
  if (selection.status === "error") {
    return html`<h2 id="editor-heading" class="section-title">${Noun} not available</h2>
      <div class="state state--error" role="alert">
        <p class="state__body">${selection.error.message}</p>
        <a class="button button--secondary" href=${newPath}>${newInstead}</a>
      </div>`;
  }
  const item = selectedValue(selection);
  const badge = (shown: T) => html`<span class="badge" title="${Noun} ID">#${idOf(shown)}</span>`;
  if (item ? !may.change(item) : !may.add) {
    return html`<div class="editor__head">
        <h2 id="editor-heading" class="section-title">${item ? Noun : lockedTitle}</h2>
        ${item ? badge(item) : nothing}
      </div>
      ${item ? html`<p class="editor__meta">Last changed ${timeView(item.timestamp)}</p>${readOnly(item)}` : nothing}
      ${locked(item)} ${item && footer ? footer(item) : nothing}`;
  }
  const { conflict } = editor;
  const form =
    item && conflict
      ? conflictView(
          {
            conflict,
            noun,
            draft: options.draft,
            version: options.newerVersion ?? readOnly,
            newPath,
            saveAsNewLabel: options.saveAsNewLabel,
            busy: busy !== undefined,
          },
          handlers,
        )
      : formView(options, handlers, item);
  return html`<div class="editor__head">
      <h2 id="editor-heading" class="section-title">${item ? `Edit ${noun}` : newTitle}</h2>
      ${item ? badge(item) : nothing}
    </div>
    ${
      item
        ? html`<p class="editor__meta">Last changed ${timeView(item.timestamp)}</p>`
        : html`<p class="editor__meta">${newIntro}</p>`
    }
    ${problemView(problem, handlers.dismissProblem)} ${form} ${item && footer ? footer(item) : nothing}`;
}

function formView<T extends { timestamp: string }>(
  options: EditorOptions<T>,
  handlers: EditorHandlers,
  item: T | undefined,
) {
  const { editor, addLabel, saveLabel, newPath, fields, may } = options;
  const { busy } = editor;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  return html`<form class="form" novalidate @submit=${submit}>
      ${fields}
      <div class="form__actions">
        <button type="submit" class="button button--primary" ?disabled=${busy !== undefined}>
          ${busy === "saving" ? "Saving…" : item ? saveLabel : addLabel}
        </button>
        ${item ? html`<a class="button button--secondary" href=${newPath}>Cancel</a>` : nothing}
        ${
          item && may.delete(item)
            ? html`<button
                type="button"
                class="button button--danger-quiet"
                ?disabled=${busy !== undefined}
                @click=${handlers.remove}
              >
                ${busy === "deleting" ? "Deleting…" : "Delete"}
              </button>`
            : nothing
        }
      </div>
    </form>`;
}
