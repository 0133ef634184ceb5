import type { Person } from "../model/api.js";
import { PagedList } from "../model/paged-list.js";
import { createPerson, deletePerson, fullName, listPeople, readPerson, updatePerson } from "../model/people.js";
import { type PersonField, PersonForm } from "../model/person-form.js";
import { selectedId } from "../model/selection.js";
import { paths, type Route } from "../router.js";
import { peopleView } from "../views/people-view.js";
import { Editor } from "./editor.js";
import { followPeople } from "./live-lists.js";
import type { Host, PageController } from "./page.js";

const FIELD_IDS: Record<PersonField, string> = { fname: "person-fname", lname: "person-lname" };

export class PeopleController implements PageController {
  readonly people: PagedList<Person>;
  readonly form = new PersonForm();
  readonly editor: Editor<Person>;
  #listRequested = false;
  readonly #stopFollowing: () => void;

  constructor(private readonly host: Host) {
    this.people = new PagedList(
      listPeople,
      (person) => person.person_id,
      () => host.update(),
    );
    this.editor = new Editor<Person>({
      host,
      form: this.form,
      list: this.people,
      keyOf: (person) => person.person_id,
      pathOf: (person) => paths.person(person.person_id),
      listed: (personId) => this.people.find(personId),
      read: readPerson,
      create: () => createPerson(this.form.input),
      update: async (person, etag) => {
        const saved = await updatePerson(person.person_id, this.form.input, etag);
        host.renamed(saved.value);
        return saved;
      },
      delete: (person, etag) => deletePerson(person.person_id, etag),
      firstField: `#${FIELD_IDS.fname}`,
      invalidField: () => {
        const invalid = this.form.validate();
        return invalid && `#${FIELD_IDS[invalid]}`;
      },
      draftText: () => fullName(this.form),
      confirmDelete: (person) => ({
        title: `Delete ${fullName(person)}?`,
        message: "Their notes will be deleted too. This can't be undone.",
        confirmLabel: "Delete person",
      }),
      added: (person) => `Added ${fullName(person)}.`,
      saved: (person) => `Saved ${fullName(person)}.`,
      deleted: (person) => `Deleted ${fullName(person)}.`,
      changedBeforeDelete:
        "Someone else changed this person or their notes since you opened them, so nothing was deleted. Check and delete again if you still want to.",
      afterDelete: () => ({ path: paths.people(), focus: "#people-heading" }),
    });
    this.#stopFollowing = host.live.subscribe((change) => followPeople(this.people, change));
  }

  get title(): string {
    const person = this.editor.editing;
    return person ? `Edit ${fullName(person)}` : "People";
  }

  show(route: Route, moveFocus: boolean): void {
    if (route.page !== "people") return;
    if (!this.#listRequested) {
      this.#listRequested = true;
      void this.people.reload({ size: this.host.rememberedShown }).then(() => this.host.restoreScroll());
    }
    if (route.personId !== selectedId(this.editor.selection)) void this.editor.select(route.personId, moveFocus);
  }

  view() {
    return peopleView(this, {
      ...this.editor.handlers,
      retry: () => void this.people.reload(),
      loadMore: () => void this.people.loadMore(),
      input: (field, value) => {
        this.form.set(field, value);
        this.host.update();
      },
    });
  }

  get shown(): number | undefined {
    return this.people.shown;
  }

  get access() {
    return this.host.access;
  }

  dispose(): void {
    this.#stopFollowing();
    this.people.cancel();
    this.editor.cancel();
  }
}
