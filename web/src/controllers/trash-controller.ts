import { type TrashEntry, toApiError } from "../model/api.js";
import { PagedList } from "../model/paged-list.js";
import { describeEntry, listTrash, purgeEntry, restoreEntry } from "../model/trash.js";
import { confirmAction } from "../views/confirm-dialog.js";
import { trashView } from "../views/trash-view.js";
import { reloadIfFailed } from "./live-lists.js";
import type { Host, PageController } from "./page.js";

/** Changes that add to the trash or take from it. */
const TRASH_EVENTS = new Set(["note.deleted", "person.deleted", "note.restored", "person.restored", "reload"]);

/** The Trash page: what was deleted, restored or purged from here. */
export class TrashController implements PageController {
  readonly title = "Trash";
  readonly #entries: PagedList<TrashEntry>;
  readonly #stopFollowing: () => void;
  #busy: number | undefined;
  #problem: string | undefined;
  #signedOut: boolean | undefined;

  constructor(private readonly host: Host) {
    this.#entries = new PagedList(
      listTrash,
      (entry) => entry.trash_id,
      () => host.update(),
    );
    this.#stopFollowing = host.live.subscribe((change) => {
      if (TRASH_EVENTS.has(change.event)) void this.#entries.reload({ keepShown: true });
      else if (change.event === "connected") reloadIfFailed(this.#entries);
    });
  }

  show(): void {
    const size = this.host.rememberedShown;
    void this.#entries.reload({ size }).then(() => this.host.restoreScroll());
  }

  get shown(): number | undefined {
    return this.#entries.shown;
  }

  view() {
    // Signing in or out changes what the trash shows: whose entries, and whether any.
    const { access } = this.host;
    const signedOut = access.checking ? undefined : access.signedOut;
    if (signedOut !== this.#signedOut) {
      const first = this.#signedOut === undefined;
      this.#signedOut = signedOut;
      if (!first && signedOut === false) void this.#entries.reload();
    }
    return trashView(
      { entries: this.#entries, access, busy: this.#busy, problem: this.#problem },
      {
        restore: (entry) => void this.#restore(entry),
        purge: (entry) => void this.#purge(entry),
        retry: () => void this.#entries.reload(),
        loadMore: () => void this.#entries.loadMore(),
        signIn: () => this.host.signIn(),
        dismissProblem: () => {
          this.#problem = undefined;
          this.host.update();
        },
      },
    );
  }

  async #restore(entry: TrashEntry): Promise<void> {
    await this.#act(entry, async () => {
      await restoreEntry(entry.trash_id);
      this.host.notify(`Restored: ${describeEntry(entry)}.`);
    });
  }

  async #purge(entry: TrashEntry): Promise<void> {
    const confirmed = await confirmAction({
      title: "Delete for good?",
      message: `${describeEntry(entry)} will be deleted for good. This can't be undone.`,
      confirmLabel: "Delete for good",
    });
    if (!confirmed) return;
    await this.#act(entry, async () => {
      await purgeEntry(entry.trash_id);
      this.host.notify(`Deleted for good: ${describeEntry(entry)}.`);
    });
  }

  async #act(entry: TrashEntry, work: () => Promise<void>): Promise<void> {
    if (this.#busy !== undefined) return;
    this.#busy = entry.trash_id;
    this.#problem = undefined;
    this.host.update();
    try {
      await work();
    } catch (error) {
      const problem = toApiError(error);
      this.host.dismissNotice();
      if (problem.status === 401) this.host.unauthorized(problem, "h1");
      else this.#problem = problem.message;
    } finally {
      this.#busy = undefined;
      await this.#entries.reload({ keepShown: true });
      this.host.update();
    }
  }

  dispose(): void {
    this.#stopFollowing();
    this.#entries.cancel();
  }
}
