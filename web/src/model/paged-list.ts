import { type ApiError, toApiError } from "./api.js";
import { PAGE_SIZE, type Page, reloadSize } from "./paging.js";

export type LoadStatus = "loading" | "ready" | "error";

type FetchPage<T> = (limit: number, cursor?: string) => Promise<Page<T>>;

/**
 * One list shown a page at a time. Every load takes a ticket; an answer that comes back after a
 * newer load started is dropped, so a slow response never overwrites a newer state.
 */
export class PagedList<T> {
  items: T[] = [];
  total = 0;
  next: string | undefined;
  status: LoadStatus = "loading";
  error: ApiError | undefined;
  loadingMore = false;
  moreError: ApiError | undefined;
  #ticket = 0;

  constructor(
    private readonly fetchPage: FetchPage<T>,
    private readonly keyOf: (item: T) => number,
    private readonly changed: () => void,
  ) {}

  get hasMore(): boolean {
    return this.next !== undefined;
  }

  find(key: number): T | undefined {
    return this.items.find((item) => this.keyOf(item) === key);
  }

  /** Loads the first page; `keepShown` refreshes in place, as many items as are on screen. */
  async reload({ keepShown = false } = {}): Promise<void> {
    const ticket = ++this.#ticket;
    const limit = keepShown ? reloadSize(this.items.length) : PAGE_SIZE;
    if (!keepShown || this.status !== "ready") {
      this.status = "loading";
      this.error = undefined;
    }
    this.loadingMore = false;
    this.moreError = undefined;
    this.changed();
    try {
      const page = await this.fetchPage(limit);
      if (ticket !== this.#ticket) return;
      this.items = page.items;
      this.total = page.total;
      this.next = page.next;
      this.status = "ready";
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.status = "error";
      this.error = toApiError(error);
    }
    this.changed();
  }

  async loadMore(): Promise<void> {
    if (this.next === undefined || this.loadingMore) return;
    const ticket = this.#ticket;
    this.loadingMore = true;
    this.moreError = undefined;
    this.changed();
    let page: Page<T>;
    try {
      page = await this.fetchPage(PAGE_SIZE, this.next);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.loadingMore = false;
      this.moreError = toApiError(error);
      this.changed();
      return;
    }
    if (ticket !== this.#ticket) return;
    // Items can shift between pages when notes are edited meanwhile; never show one twice.
    const known = new Set(this.items.map(this.keyOf));
    this.items = [...this.items, ...page.items.filter((item) => !known.has(this.keyOf(item)))];
    this.total = page.total;
    this.next = page.next;
    this.loadingMore = false;
    this.changed();
  }

  /** Forgets pending answers, e.g. when the page that asked for them is left. */
  cancel(): void {
    this.#ticket++;
  }
}
