import type { Note } from "../model/api.js";
import { listNotes } from "../model/notes.js";
import { PagedList } from "../model/paged-list.js";
import { homeView } from "../views/home-view.js";
import { followNotes } from "./live-lists.js";
import type { Host, PageController } from "./page.js";
import { SearchController } from "./search-controller.js";

export class HomeController implements PageController {
  get title(): string {
    return this.#search.active ? `Notes matching “${this.#search.query}”` : "Latest notes";
  }

  readonly #notes: PagedList<Note>;
  readonly #search: SearchController;
  readonly #stopFollowing: () => void;

  constructor(private readonly host: Host) {
    this.#notes = new PagedList(
      listNotes,
      (note) => note.note_id,
      () => host.update(),
    );
    this.#search = new SearchController(host);
    this.#stopFollowing = host.live.subscribe((change) => {
      followNotes(this.#notes, change);
      if (change.event === "connected") this.#search.reloadIfFailed();
    });
  }

  show(): void {
    const size = this.host.rememberedShown;
    this.#search.show(size);
    if (!this.#search.active) void this.#notes.reload({ size }).then(() => this.host.restoreScroll());
  }

  get shown(): number | undefined {
    return this.#search.active ? this.#search.shown : this.#notes.shown;
  }

  view() {
    return homeView(
      this.#notes,
      {
        retry: () => void this.#notes.reload(),
        loadMore: () => void this.#loadMore(),
      },
      this.#search.parts(),
    );
  }

  async #loadMore(): Promise<void> {
    const before = this.#notes.items.length;
    await this.#notes.loadMore();
    // Keyboard users continue where the new items start, not back at the button.
    if (this.#notes.items.length > before) this.host.focus(`[data-note-index="${before}"] a`);
  }

  dispose(): void {
    this.#stopFollowing();
    this.#notes.cancel();
    this.#search.dispose();
  }
}
