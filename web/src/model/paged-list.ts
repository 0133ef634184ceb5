import { type ApiError, toApiError } from "./api.js";
import { PAGE_SIZE, type Page, reloadSize } from "./paging.js";

/** How long an item that arrived live stays highlighted. */
const HIGHLIGHT_MS = 4000;

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
  /** Keys of items that just arrived live, highlighted for a moment. */
  readonly fresh = new Set<number>();
  #ticket = 0;
  /** Live changes that came while a page was loading: applied to it once it is in. */
  #whileLoading: Array<() => void> | undefined;

  constructor(
    private readonly fetchPage: FetchPage<T>,
    private readonly keyOf: (item: T) => number,
    private readonly changed: () => void,
  ) {}

  /** How many items are shown, once loaded. */
  get shown(): number | undefined {
    return this.status === "ready" ? this.items.length : undefined;
  }

  get hasMore(): boolean {
    return this.next !== undefined;
  }

  find(key: number): T | undefined {
    return this.items.find((item) => this.keyOf(item) === key);
  }

  /**
   * Loads the first page; `keepShown` refreshes in place, as many items as are on screen; `size`
   * loads as many as were shown before (after "Load more"), in one request.
   */
  async reload({ keepShown = false, size }: { keepShown?: boolean; size?: number | undefined } = {}): Promise<void> {
    const ticket = ++this.#ticket;
    const limit = keepShown ? reloadSize(this.items.length) : size === undefined ? PAGE_SIZE : reloadSize(size);
    if (!keepShown || this.status !== "ready") {
      this.status = "loading";
      this.error = undefined;
    }
    this.loadingMore = false;
    this.moreError = undefined;
    this.#whileLoading = [];
    this.changed();
    try {
      const page = await this.fetchPage(limit);
      if (ticket !== this.#ticket) return;
      this.items = page.items;
      this.total = page.total;
      this.next = page.next;
      this.status = "ready";
      const missed = this.#whileLoading ?? [];
      this.#whileLoading = undefined;
      for (const apply of missed) apply();
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.#whileLoading = undefined;
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

  /**
   * A change someone made, shown without a reload: a new item goes on top (highlighted for a
   * moment), one already listed is replaced in place. Nothing happens before the list has loaded.
   */
  put(item: T, { atTop = false } = {}): void {
    if (this.#later(() => this.put(item, { atTop }))) return;
    if (this.status !== "ready") return;
    const key = this.keyOf(item);
    const index = this.items.findIndex((each) => this.keyOf(each) === key);
    if (index !== -1) {
      this.items = this.items.with(index, item);
    } else if (atTop) {
      this.items = [item, ...this.items];
      this.total += 1;
      this.highlight(key);
    } else {
      return;
    }
    this.changed();
  }

  /** Replaces every listed item for which `update` returns a new one. */
  updateWhere(update: (item: T) => T | undefined): void {
    if (this.#later(() => this.updateWhere(update))) return;
    let changed = false;
    this.items = this.items.map((item) => {
      const updated = update(item);
      if (updated === undefined) return item;
      changed = true;
      return updated;
    });
    if (changed) this.changed();
  }

  /** Takes a deleted item off the list. */
  remove(key: number): void {
    if (this.#later(() => this.remove(key))) return;
    const before = this.items.length;
    this.items = this.items.filter((item) => this.keyOf(item) !== key);
    if (this.items.length === before) return;
    this.total = Math.max(0, this.total - 1);
    this.changed();
  }

  /** While a page loads, keeps a change for it (the page may have been read before the change). */
  #later(apply: () => void): boolean {
    if (this.#whileLoading === undefined) return false;
    this.#whileLoading.push(apply);
    return true;
  }

  /** Marks a listed item as just arrived, for a moment. */
  highlight(key: number): void {
    if (!this.items.some((item) => this.keyOf(item) === key)) return;
    this.fresh.add(key);
    this.changed();
    window.setTimeout(() => {
      this.fresh.delete(key);
      this.changed();
    }, HIGHLIGHT_MS);
  }

  /** Forgets pending answers, e.g. when the page that asked for them is left. */
  cancel(): void {
    this.#ticket++;
    this.#whileLoading = undefined;
  }
}
