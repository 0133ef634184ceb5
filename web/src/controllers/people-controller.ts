import { createInvite } from "../model/account.js";
import { type InviteKind, type Person, toApiError } from "../model/api.js";
import { PagedList } from "../model/paged-list.js";
import { createPerson, deletePerson, fullName, listPeople, readPerson, updatePerson } from "../model/people.js";
import { type PersonField, PersonForm } from "../model/person-form.js";
import { selectedId, selectedValue } from "../model/selection.js";
import { undoDelete } from "../model/trash.js";
import { paths, type Route } from "../router.js";
import { type InvitePanel, peopleView } from "../views/people-view.js";
import { Editor } from "./editor.js";
import { followPeople } from "./live-lists.js";
import type { Host, PageController } from "./page.js";
import { TokenPanel } from "./token-panel.js";

const FIELD_IDS: Record<PersonField, string> = { fname: "person-fname", lname: "person-lname" };
/** How long an invite made here works: the contract's default, a week. */
const INVITE_DAYS = 7;

export class PeopleController implements PageController {
  readonly people: PagedList<Person>;
  readonly form = new PersonForm();
  readonly editor: Editor<Person>;
  #listRequested = false;
  invite: InvitePanel | undefined;
  #tokens: { personId: number; panel: TokenPanel } | undefined;
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
        message: "Their notes will be deleted too. You can undo this, or restore them from the Trash.",
        confirmLabel: "Delete person",
      }),
      added: (person) => `Added ${fullName(person)}.`,
      saved: (person) => `Saved ${fullName(person)}.`,
      deleted: (person) => `Deleted ${fullName(person)}.`,
      undo: async (person) => {
        await undoDelete({ kind: "person", personId: person.person_id });
      },
      restored: (person) => `Restored ${fullName(person)}.`,
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

  /** The invite panel of the person shown, a new one when another person is shown. */
  get invitePanel(): InvitePanel | undefined {
    const person = selectedValue(this.editor.selection);
    if (!person || !this.host.access.mayInvite) return undefined;
    if (this.invite?.personId !== person.person_id) {
      this.invite = { personId: person.person_id, busy: false, made: undefined, problem: undefined };
    }
    return this.invite;
  }

  /** For admins: the personal access tokens of the person shown, loaded when another person is shown. */
  get tokenPanel(): TokenPanel | undefined {
    const person = selectedValue(this.editor.selection);
    if (!person || !this.host.access.mayInvite) return undefined;
    if (this.#tokens?.personId !== person.person_id) {
      this.#tokens?.panel.dispose();
      const personId = person.person_id;
      const panel = new TokenPanel(this.host, {
        shows: (token) => token.kind === "person" && token.person_id === personId,
        tokenFor: () => ({ kind: "person", person_id: personId }),
      });
      this.#tokens = { personId, panel };
      void panel.load();
    }
    return this.#tokens.panel;
  }

  async makeInvite(kind: InviteKind): Promise<void> {
    const panel = this.invitePanel;
    if (!panel || panel.busy) return;
    panel.busy = true;
    panel.problem = undefined;
    this.host.update();
    try {
      panel.made = await createInvite(panel.personId, kind, INVITE_DAYS);
      this.host.focus("#invite-link");
    } catch (error) {
      panel.problem = toApiError(error).message;
    } finally {
      panel.busy = false;
      this.host.update();
    }
  }

  view() {
    return peopleView(this, {
      makeInvite: (kind) => void this.makeInvite(kind),
      dismissInvite: () => {
        if (this.invite) this.invite = { ...this.invite, made: undefined, problem: undefined };
        this.host.update();
      },
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
    this.#tokens?.panel.dispose();
  }
}
