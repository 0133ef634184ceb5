import { PagedList } from "../model/paged-list.js";
import { type FoundNote, searchNotes } from "../model/search.js";
import { type SearchParts, searchParts } from "../views/search-view.js";
import { reloadIfFailed } from "./live-lists.js";
import type { Host } from "./page.js";

/** How long typing must pause before the notes are searched. */
export const SEARCH_DEBOUNCE_MS = 200;

/** The search text in the page's address (`/?q=…`), or "" when there is none. */
function queryInAddress(): string {
  return new URLSearchParams(window.location.search).get("q")?.trim() ?? "";
}

/**
 * The search box of the home page: results as the user types (after a pause), the text kept in
 * the address so that reload, back and forward show the same search. Each search cancels the one
 * before it, and the list drops any answer that is not for the newest search.
 */
export class SearchController {
  /** What the box holds. */
  #text = "";
  /** What was last searched for; "" while no search is shown. */
  #query = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: AbortController | undefined;
  readonly #results: PagedList<FoundNote>;

  constructor(private readonly host: Host) {
    this.#results = new PagedList(
      (limit, cursor) => {
        this.#inFlight?.abort();
        const inFlight = new AbortController();
        this.#inFlight = inFlight;
        return searchNotes(this.#query, limit, cursor, inFlight.signal);
      },
      (note) => note.note_id,
      () => host.update(),
    );
  }

  /** What the results shown are for; "" while no search is shown. */
  get query(): string {
    return this.#query;
  }

  /** Whether the page shows a search's results rather than the latest notes. */
  get active(): boolean {
    return this.#query !== "";
  }

  /** How many results are shown, once loaded. */
  get shown(): number | undefined {
    return this.#results.shown;
  }

  /**
   * Takes the search from the address: on arrival, on reload, on back and forward; `size`: as many
   * results as were shown before.
   */
  show(size?: number): void {
    const query = queryInAddress();
    // The box keeps what is being typed (a trailing space, say) when it is what the address says.
    if (this.#text.trim() !== query) {
      this.#cancelPending();
      this.#text = query;
    }
    if (query !== this.#query) this.#search(query, size);
  }

  parts(): SearchParts {
    return searchParts(this.#text, this.#query, this.#results, {
      input: (text) => this.#input(text),
      submit: () => this.#commit(),
      clear: () => {
        this.#text = "";
        this.#commit();
        this.host.focus("#note-search");
      },
      retry: () => void this.#results.reload(),
      loadMore: () => void this.#loadMore(),
    });
  }

  /** The results of the search shown, once more if they could not be loaded. */
  reloadIfFailed(): void {
    if (this.active) reloadIfFailed(this.#results);
  }

  #input(text: string): void {
    this.#text = text;
    this.#cancelPending();
    this.#timer = setTimeout(() => this.#commit(), SEARCH_DEBOUNCE_MS);
  }

  /** Searches for what the box holds now, and puts it in the address. */
  #commit(): void {
    this.#cancelPending();
    const query = this.#text.trim();
    if (query === this.#query) return;
    const address = query === "" ? "/" : `/?q=${encodeURIComponent(query)}`;
    // The first word typed makes a history entry (back returns to the latest notes); refining it
    // does not. The page then shows what the address says (see show()).
    this.host.navigate(address, { replace: this.#query !== "" && query !== "" });
  }

  #search(query: string, size?: number): void {
    this.#query = query;
    if (query === "") {
      this.#inFlight?.abort();
      this.#results.cancel();
      this.host.update();
      return;
    }
    void this.#results.reload({ size }).then(() => this.host.restoreScroll());
  }

  async #loadMore(): Promise<void> {
    const before = this.#results.items.length;
    await this.#results.loadMore();
    if (this.#results.items.length > before) this.host.focus(`[data-found-index="${before}"] a`);
  }

  #cancelPending(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.#cancelPending();
    this.#inFlight?.abort();
    this.#results.cancel();
  }
}
