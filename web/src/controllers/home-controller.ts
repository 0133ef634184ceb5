import type { Note } from "../model/api.js";
import { listNotes } from "../model/notes.js";
import { PagedList } from "../model/paged-list.js";
import { homeView } from "../views/home-view.js";
import type { Host, PageController } from "./page.js";

export class HomeController implements PageController {
  readonly title = "Latest notes";
  readonly #notes: PagedList<Note>;

  constructor(private readonly host: Host) {
    this.#notes = new PagedList(
      listNotes,
      (note) => note.note_id,
      () => host.update(),
    );
  }

  show(): void {
    void this.#notes.reload();
  }

  view() {
    return homeView(this.#notes, {
      retry: () => void this.#notes.reload(),
      loadMore: () => void this.#loadMore(),
    });
  }

  async #loadMore(): Promise<void> {
    const before = this.#notes.items.length;
    await this.#notes.loadMore();
    // Keyboard users continue where the new items start, not back at the button.
    if (this.#notes.items.length > before) this.host.focus(`[data-note-index="${before}"] a`);
  }

  dispose(): void {
    this.#notes.cancel();
  }
}
