import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Access } from "../model/access.js";
import type { TrashEntry } from "../model/api.js";
import type { PagedList } from "../model/paged-list.js";
import { describeEntry } from "../model/trash.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { loadingView, pagedListView, problemView } from "./feedback.js";
import { noteContentView } from "./note-content.js";
import { timeView } from "./time.js";

export interface TrashHandlers {
  restore(entry: TrashEntry): void;
  purge(entry: TrashEntry): void;
  retry(): void;
  loadMore(): void;
  signIn(): void;
  dismissProblem(): void;
}

export interface TrashState {
  entries: PagedList<TrashEntry>;
  access: Access;
  /** The entry being restored or purged. */
  busy: number | undefined;
  problem: string | undefined;
}

/** A person may restore their own notes; people, and purging, are an admin's. */
const mayRestore = (access: Access, entry: TrashEntry) =>
  entry.kind === "person" ? access.mayDeletePeople : access.mayChangePerson(entry.person_id);

function entryCard(entry: TrashEntry, state: TrashState, handlers: TrashHandlers) {
  const busy = state.busy === entry.trash_id;
  const what = describeEntry(entry);
  return html`<li class="card trash-entry" data-trash-id=${entry.trash_id}>
    <div class="note-card__meta">
      ${avatarView(entry)}
      <div class="note-card__byline">
        <span class="author__name">${what}</span>
        <span class="trash-entry__when">Deleted ${timeView(entry.deleted_at)}</span>
      </div>
    </div>
    ${
      entry.content === null
        ? nothing
        : noteContentView(entry.content, {
            id: `trash-${entry.trash_id}-content`,
            className: "note-card__content",
            headingLevel: 2,
            fold: true,
          })
    }
    <div class="trash-entry__actions">
      ${
        mayRestore(state.access, entry)
          ? html`<button
              type="button"
              class="button button--secondary"
              ?disabled=${busy}
              @click=${() => handlers.restore(entry)}
            >Restore<span class="visually-hidden"> ${what}</span></button>`
          : nothing
      }
      ${
        state.access.mayDeletePeople
          ? html`<button
              type="button"
              class="button button--danger"
              ?disabled=${busy}
              @click=${() => handlers.purge(entry)}
            >Delete for good<span class="visually-hidden"> ${what}</span></button>`
          : nothing
      }
    </div>
  </li>`;
}

/** What was deleted, newest first, with Restore (and for admins, Delete for good). */
export function trashView(state: TrashState, handlers: TrashHandlers) {
  const { access, entries } = state;
  const body = access.checking
    ? loadingView("Checking your sign-in…")
    : access.signedOut
      ? html`<div class="notice">
          <p class="notice__text">Sign in to see what you deleted.</p>
          <button type="button" class="button button--primary" @click=${handlers.signIn}>Sign in</button>
        </div>`
      : pagedListView(entries, {
          noun: "entries",
          empty: {
            title: "The trash is empty",
            body: html`Deleted notes and people stay here for a while. <a href=${paths.home()}>Latest notes</a>`,
          },
          items: (items) =>
            html`<ol class="card-list" aria-label="Deleted, newest first">
              ${repeat(
                items,
                (entry) => entry.trash_id,
                (entry) => entryCard(entry, state, handlers),
              )}
            </ol>`,
          retry: handlers.retry,
          loadMore: handlers.loadMore,
        });
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">Trash</h1>
      <p class="page__lead">Deleted notes and people, newest first, until they are purged.</p>
    </header>
    ${problemView(state.problem, handlers.dismissProblem)} ${body}
  </div>`;
}
