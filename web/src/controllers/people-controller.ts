import { type ApiError, type Person, toApiError } from "../model/api.js";
import { PagedList } from "../model/paged-list.js";
import { createPerson, deletePerson, fullName, listPeople, readPerson, updatePerson } from "../model/people.js";
import { type PersonField, PersonForm } from "../model/person-form.js";
import { paths, type Route } from "../router.js";
import { confirmAction } from "../views/confirm-dialog.js";
import { peopleView } from "../views/people-view.js";
import type { Host, PageController } from "./page.js";

export type Selection =
  | { status: "none" }
  | { status: "loading"; personId: number }
  | { status: "ready"; personId: number; person: Person }
  | { status: "error"; personId: number; error: ApiError };

export type Busy = "saving" | "deleting" | undefined;

const FIELD_IDS: Record<PersonField, string> = { fname: "person-fname", lname: "person-lname" };

export class PeopleController implements PageController {
  readonly people: PagedList<Person>;
  readonly form = new PersonForm();
  selection: Selection = { status: "none" };
  busy: Busy;
  #ticket = 0;
  #listRequested = false;

  constructor(private readonly host: Host) {
    this.people = new PagedList(
      listPeople,
      (person) => person.person_id,
      () => host.update(),
    );
  }

  get title(): string {
    if (this.selection.status === "ready") return `Edit ${fullName(this.selection.person)}`;
    return "People";
  }

  show(route: Route, moveFocus: boolean): void {
    if (route.page !== "people") return;
    if (!this.#listRequested) {
      this.#listRequested = true;
      void this.people.reload();
    }
    const current = this.selection.status === "none" ? undefined : this.selection.personId;
    if (route.personId !== current) void this.#select(route.personId, moveFocus);
  }

  view() {
    return peopleView(this, {
      retry: () => void this.people.reload(),
      loadMore: () => void this.people.loadMore(),
      input: (field, value) => {
        this.form.set(field, value);
        this.host.update();
      },
      submit: () => void this.#save(),
      remove: () => void this.#remove(),
      dismissProblem: () => {
        this.form.problem = undefined;
        this.host.update();
        this.host.focus(`#${FIELD_IDS.fname}`);
      },
    });
  }

  dispose(): void {
    this.people.cancel();
    this.#ticket++;
  }

  async #select(personId: number | undefined, moveFocus: boolean): Promise<void> {
    const ticket = ++this.#ticket;
    this.busy = undefined;
    if (personId === undefined) {
      this.selection = { status: "none" };
      this.form.fill(undefined);
      this.host.update();
      if (moveFocus) this.host.focus(`#${FIELD_IDS.fname}`);
      return;
    }
    const listed = this.people.find(personId);
    if (listed) {
      this.#selected(listed, moveFocus);
      return;
    }
    this.selection = { status: "loading", personId };
    this.form.fill(undefined);
    this.host.update();
    try {
      const person = await readPerson(personId);
      if (ticket === this.#ticket) this.#selected(person, moveFocus);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.selection = { status: "error", personId, error: toApiError(error) };
      this.host.update();
    }
  }

  #selected(person: Person, moveFocus: boolean): void {
    this.selection = { status: "ready", personId: person.person_id, person };
    this.form.fill(person);
    this.host.update();
    if (moveFocus) this.host.focus(`#${FIELD_IDS.fname}`);
  }

  async #save(): Promise<void> {
    if (this.busy) return;
    const invalid = this.form.validate();
    if (invalid) {
      this.host.update();
      this.host.focus(`#${FIELD_IDS[invalid]}`);
      return;
    }
    const editing = this.selection.status === "ready" ? this.selection.person : undefined;
    const ticket = this.#ticket;
    this.busy = "saving";
    this.host.update();
    try {
      const saved = editing
        ? await updatePerson(editing.person_id, this.form.input)
        : await createPerson(this.form.input);
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      void this.people.reload({ keepShown: true });
      if (editing) {
        this.selection = { status: "ready", personId: saved.person_id, person: saved };
        this.form.fill(saved);
        this.host.notify(`Saved ${fullName(saved)}.`);
      } else {
        this.form.fill(undefined);
        this.host.notify(`Added ${fullName(saved)}.`);
        this.host.focus(`#${FIELD_IDS.fname}`);
      }
      this.host.update();
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.form.refused(toApiError(error));
      this.host.update();
    }
  }

  async #remove(): Promise<void> {
    if (this.busy || this.selection.status !== "ready") return;
    const person = this.selection.person;
    const confirmed = await confirmAction({
      title: `Delete ${fullName(person)}?`,
      message: "Their notes will be deleted too. This can't be undone.",
      confirmLabel: "Delete person",
    });
    if (!confirmed || this.selection.status !== "ready" || this.selection.personId !== person.person_id) return;
    const ticket = this.#ticket;
    this.busy = "deleting";
    this.host.update();
    try {
      await deletePerson(person.person_id);
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.host.notify(`Deleted ${fullName(person)}.`);
      void this.people.reload({ keepShown: true });
      this.host.navigate(paths.people(), { replace: true });
      this.host.focus("#people-heading");
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.form.refused(toApiError(error));
      this.host.update();
    }
  }
}
