import { type ApiError, toApiError } from "../model/api.js";
import type { PagedList } from "../model/paged-list.js";
import { type Busy, type EditorState, type Selection, selectedValue } from "../model/selection.js";
import { type ConfirmOptions, confirmAction } from "../views/confirm-dialog.js";
import type { Host } from "./page.js";

/** What the editor asks of its form. */
export interface EditorForm<T> {
  problem: string | undefined;
  fill(item: T | undefined): void;
  refused(error: ApiError): void;
}

/** What differs between the people and notes editors: their requests, wording and places to focus. */
export interface EditorSetup<T> {
  host: Host;
  form: EditorForm<T>;
  /** The list beside the editor, refreshed in place after each change. */
  list: PagedList<T>;
  keyOf(item: T): number;
  /** The item as the list on screen has it, which saves asking the server. */
  listed(id: number): T | undefined;
  read(id: number): Promise<T>;
  create(): Promise<T>;
  update(item: T): Promise<T>;
  delete(item: T): Promise<void>;
  /** The form's first field: focused when an item opens, and when the form empties for a new one. */
  firstField: string;
  /** Validates the form; the selector of the field to fix, or undefined when the form may be sent. */
  invalidField(): string | undefined;
  confirmDelete(item: T): ConfirmOptions;
  /** The notices after each change. */
  added(item: T): string;
  saved(item: T): string;
  deleted(item: T): string;
  /** Where to go once the open item is deleted, and which heading there gets focus. */
  afterDelete(item: T): { path: string; focus: string };
}

/**
 * The item open in a page's editor and the requests that change it. Choosing an item takes a
 * ticket; an answer that arrives after another item was chosen, or the page was left, is dropped.
 */
export class Editor<T> implements EditorState<T> {
  selection: Selection<T> = { status: "none" };
  busy: Busy;
  #ticket = 0;

  constructor(private readonly setup: EditorSetup<T>) {}

  /** The item being edited; undefined while writing a new one. */
  get editing(): T | undefined {
    return selectedValue(this.selection);
  }

  async select(id: number | undefined, moveFocus: boolean): Promise<void> {
    const { host, form } = this.setup;
    const ticket = ++this.#ticket;
    this.busy = undefined;
    if (id === undefined) {
      this.selection = { status: "none" };
      form.fill(undefined);
      host.update();
      if (moveFocus) host.focus(this.setup.firstField);
      return;
    }
    const listed = this.setup.listed(id);
    if (listed) {
      this.#opened(listed, moveFocus);
      return;
    }
    this.selection = { status: "loading", id };
    form.fill(undefined);
    host.update();
    try {
      const item = await this.setup.read(id);
      if (ticket === this.#ticket) this.#opened(item, moveFocus);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.selection = { status: "error", id, error: toApiError(error) };
      host.update();
    }
  }

  async save(): Promise<void> {
    const { host, form } = this.setup;
    if (this.busy) return;
    const invalid = this.setup.invalidField();
    if (invalid) {
      host.update();
      host.focus(invalid);
      return;
    }
    const editing = this.editing;
    const ticket = this.#ticket;
    this.busy = "saving";
    host.update();
    try {
      const saved = editing ? await this.setup.update(editing) : await this.setup.create();
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      void this.setup.list.reload({ keepShown: true });
      if (editing) {
        this.selection = { status: "ready", id: this.setup.keyOf(saved), value: saved };
        form.fill(saved);
        host.notify(this.setup.saved(saved));
      } else {
        form.fill(undefined);
        host.notify(this.setup.added(saved));
        host.focus(this.setup.firstField);
      }
      host.update();
    } catch (error) {
      if (ticket === this.#ticket) this.#refused(error);
    }
  }

  async remove(): Promise<void> {
    const { host } = this.setup;
    const item = this.editing;
    if (this.busy || !item) return;
    const confirmed = await confirmAction(this.setup.confirmDelete(item));
    if (!confirmed || this.editing !== item) return;
    const ticket = this.#ticket;
    this.busy = "deleting";
    host.update();
    try {
      await this.setup.delete(item);
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      host.notify(this.setup.deleted(item));
      void this.setup.list.reload({ keepShown: true });
      const next = this.setup.afterDelete(item);
      host.navigate(next.path, { replace: true });
      host.focus(next.focus);
    } catch (error) {
      if (ticket === this.#ticket) this.#refused(error);
    }
  }

  dismissProblem(): void {
    this.setup.form.problem = undefined;
    this.setup.host.update();
    this.setup.host.focus(this.setup.firstField);
  }

  /** Forgets pending answers, e.g. when the page is left. */
  cancel(): void {
    this.#ticket++;
  }

  #opened(item: T, moveFocus: boolean): void {
    this.selection = { status: "ready", id: this.setup.keyOf(item), value: item };
    this.setup.form.fill(item);
    this.setup.host.update();
    if (moveFocus) this.setup.host.focus(this.setup.firstField);
  }

  #refused(error: unknown): void {
    const { host, form, firstField } = this.setup;
    const problem = toApiError(error);
    this.busy = undefined;
    // The form keeps what was typed, to be sent again once signed in.
    if (problem.status === 401) host.unauthorized(problem, firstField);
    else form.refused(problem);
    host.update();
  }
}
