import { type Person, toApiError } from "../model/api.js";
import { PagedList } from "../model/paged-list.js";
import { createPerson, deletePerson, fullName, listPeople, readPerson, updatePerson } from "../model/people.js";
import { type PersonField, PersonForm } from "../model/person-form.js";
import { type Busy, type Selection, selectedId, selectedValue } from "../model/selection.js";
import { paths, type Route } from "../router.js";
import { confirmAction } from "../views/confirm-dialog.js";
import { peopleView } from "../views/people-view.js";
import type { Host, PageController } from "./page.js";

const FIELD_IDS: Record<PersonField, string> = { fname: "person-fname", lname: "person-lname" };

export class PeopleController implements PageController {
  readonly people: PagedList<Person>;
  readonly form = new PersonForm();
  selection: Selection<Person> = { status: "none" };
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
    const person = selectedValue(this.selection);
    return person ? `Edit ${fullName(person)}` : "People";
  }

  show(route: Route, moveFocus: boolean): void {
    if (route.page !== "people") return;
    if (!this.#listRequested) {
      this.#listRequested = true;
      void this.people.reload();
    }
    if (route.personId !== selectedId(this.selection)) void this.#select(route.personId, moveFocus);
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
    this.selection = { status: "loading", id: personId };
    this.form.fill(undefined);
    this.host.update();
    try {
      const person = await readPerson(personId);
      if (ticket === this.#ticket) this.#selected(person, moveFocus);
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.selection = { status: "error", id: personId, error: toApiError(error) };
      this.host.update();
    }
  }

  #selected(person: Person, moveFocus: boolean): void {
    this.selection = { status: "ready", id: person.person_id, value: person };
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
    const editing = selectedValue(this.selection);
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
        this.selection = { status: "ready", id: saved.person_id, value: saved };
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
    const person = selectedValue(this.selection);
    if (this.busy || !person) return;
    const confirmed = await confirmAction({
      title: `Delete ${fullName(person)}?`,
      message: "Their notes will be deleted too. This can't be undone.",
      confirmLabel: "Delete person",
    });
    if (!confirmed || selectedValue(this.selection) !== person) return;
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
