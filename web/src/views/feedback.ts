import { html, nothing, type TemplateResult } from "lit";
import type { ApiError } from "../model/api.js";
import type { PagedList } from "../model/paged-list.js";

export function loadingView(label: string) {
  return html`<div class="state state--loading" role="status">
    <span class="spinner" aria-hidden="true"></span>
    <span>${label}</span>
  </div>`;
}

export function emptyView(title: string, body: TemplateResult | string) {
  return html`<div class="state state--empty">
    <p class="state__title">${title}</p>
    <p class="state__body">${body}</p>
  </div>`;
}

export function loadErrorView(what: string, error: ApiError | undefined, retry: () => void) {
  return html`<div class="state state--error" role="alert">
    <p class="state__title">Couldn't load ${what}</p>
    <p class="state__body">${error?.message ?? "Something went wrong."}</p>
    <button type="button" class="button button--secondary" @click=${retry}>Try again</button>
  </div>`;
}

/** An API error about an action: it stays on screen until dismissed or until the action succeeds. */
export function problemView(message: string | undefined, dismiss: () => void) {
  if (message === undefined) return nothing;
  return html`<div class="problem" role="alert">
    <svg class="problem__icon" viewBox="0 0 20 20" aria-hidden="true">
      <path
        fill="currentColor"
        d="M10 1.8a8.2 8.2 0 1 0 0 16.4 8.2 8.2 0 0 0 0-16.4Zm0 4a1 1 0 0 1 1 1v3.8a1 1 0 1 1-2 0V6.8a1 1 0 0 1 1-1Zm0 9.4a1.2 1.2 0 1 1 0-2.4 1.2 1.2 0 0 1 0 2.4Z"
      />
    </svg>
    <p class="problem__message">${message}</p>
    <button type="button" class="problem__dismiss" @click=${dismiss}>Dismiss</button>
  </div>`;
}

interface LoadMoreOptions {
  shown: number;
  total: number;
  noun: string;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | undefined;
  loadMore: () => void;
}

function loadMoreView(options: LoadMoreOptions) {
  const { shown, total, noun, hasMore, loading, error, loadMore } = options;
  return html`<div class="load-more">
    <p class="load-more__count">Showing ${shown} of ${total} ${noun}</p>
    ${error ? html`<p class="field__error" role="alert">${error.message}</p>` : nothing}
    ${
      hasMore
        ? html`<button type="button" class="button button--secondary" ?disabled=${loading} @click=${loadMore}>
          ${loading ? "Loading…" : "Load more"}
        </button>`
        : nothing
    }
  </div>`;
}

interface PagedListOptions<T> {
  /** What the list holds, in the plural: "notes", "people". */
  noun: string;
  empty: { title: string; body: TemplateResult | string };
  /** The list element itself, given the items loaded so far. */
  items: (items: T[]) => TemplateResult;
  retry: () => void;
  loadMore: () => void;
}

/** A list shown a page at a time: loading, failed, empty, or its items with a count and Load more. */
export function pagedListView<T>(list: PagedList<T>, options: PagedListOptions<T>) {
  const { noun, empty, items, retry, loadMore } = options;
  if (list.status === "loading") return loadingView(`Loading ${noun}…`);
  if (list.status === "error") return loadErrorView(noun, list.error, retry);
  if (list.items.length === 0) return emptyView(empty.title, empty.body);
  return html`${items(list.items)}
    ${loadMoreView({
      shown: list.items.length,
      total: list.total,
      noun,
      hasMore: list.hasMore,
      loading: list.loadingMore,
      error: list.moreError,
      loadMore,
    })}`;
}

/** A secret (a token, a signing secret) shown this once, to be copied: selected on focus. */
export function shownOnceView(options: {
  id: string;
  label: string;
  value: string;
  copy: (value: string) => void;
  done: () => void;
}) {
  const { id, label, value, copy, done } = options;
  return html`<div class="made-token">
    <label id="${id}-label" for=${id}>${label}. Copy it now: it is shown this once.</label>
    <input id=${id} class="made-token__value" readonly .value=${value} @focus=${(event: Event) => (event.target as HTMLInputElement).select()} />
    <div class="form__actions">
      <button type="button" class="button button--secondary button--small" @click=${() => copy(value)}>Copy</button>
      <button type="button" class="button button--primary button--small" @click=${done}>Done</button>
    </div>
  </div>`;
}
