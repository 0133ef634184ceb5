import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Access } from "../model/access.js";
import type { Invite, InviteKind, Person } from "../model/api.js";
import { NAME_MAX_LENGTH } from "../model/limits.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import type { PersonField, PersonForm } from "../model/person-form.js";
import { type EditorState, selectedId, selectedValue } from "../model/selection.js";
import { paths } from "../router.js";
import { accessNoticeView } from "./access-notice.js";
import { avatarView } from "./avatar.js";
import { type EditorHandlers, editorView } from "./editor.js";
import { pagedListView, problemView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";
import { type TokenHandlers, type TokenPanelState, tokenPanelView } from "./tokens-view.js";

/** An admin's invite for the person shown: the link is shown once, on this page only. */
export interface InvitePanel {
  personId: number;
  busy: boolean;
  made: Invite | undefined;
  problem: string | undefined;
}

export interface PeopleState {
  readonly people: PagedList<Person>;
  readonly form: PersonForm;
  readonly editor: EditorState<Person>;
  readonly access: Access;
  readonly invitePanel: InvitePanel | undefined;
  readonly tokenPanel: (TokenPanelState & { readonly handlers: TokenHandlers }) | undefined;
}

interface PeopleHandlers extends EditorHandlers {
  makeInvite: (kind: InviteKind) => void;
  dismissInvite: () => void;
  retry: () => void;
  loadMore: () => void;
  input: (field: PersonField, value: string) => void;
}

export function peopleView(state: PeopleState, handlers: PeopleHandlers) {
  return html`<div class="page">
    <header class="page__header">
      <h1 tabindex="-1">People</h1>
      <p class="page__lead">Everyone who writes notes, by last name. Add someone, or choose a person to edit.</p>
    </header>
    <div class="split">
      <div>
        <section class="card editor" aria-labelledby="editor-heading">${personEditorView(state, handlers)}</section>
        ${state.invitePanel ? invitePanelView(state.invitePanel, handlers) : nothing}
        ${state.tokenPanel ? personTokensView(state.tokenPanel, selectedValue(state.editor.selection)) : nothing}
      </div>
      <section class="list-section" aria-labelledby="people-heading">
        <h2 id="people-heading" class="section-title" tabindex="-1">All people</h2>
        ${listView(state, handlers)}
      </section>
    </div>
  </div>`;
}

function personEditorView(state: PeopleState, handlers: PeopleHandlers) {
  const { form, access } = state;
  const errors = form.errors;
  const nameField = (field: PersonField, id: string, label: string) =>
    fieldView({
      id,
      label,
      value: form[field],
      error: errors[field],
      hint: `Up to ${NAME_MAX_LENGTH} characters.`,
      autocomplete: "off",
      onInput: (value) => handlers.input(field, value),
    });
  const notesLink = (person: Person) =>
    html`<a class="editor__notes-link" href=${paths.notes(person.person_id)}>
      View ${fullName(person)}'s notes <span aria-hidden="true">→</span>
    </a>`;
  return editorView(
    {
      editor: state.editor,
      problem: form.problem,
      noun: "person",
      idOf: (person) => person.person_id,
      newTitle: "Add a person",
      newIntro: "New people start with no notes.",
      addLabel: "Add person",
      saveLabel: "Save changes",
      newPath: paths.people(),
      newInstead: access.mayAddPeople ? "Add a person instead" : "Show everyone",
      fields: html`${nameField("fname", "person-fname", "First name")} ${nameField("lname", "person-lname", "Last name")}`,
      footer: notesLink,
      may: {
        add: access.mayAddPeople,
        change: (person) => access.mayChangePerson(person.person_id),
        delete: () => access.mayDeletePeople,
      },
      readOnly: namesView,
      draft: namesView(form),
      saveAsNewLabel: "Add as a new person",
      lockedTitle: "Adding people",
      locked: (person) =>
        accessNoticeView({
          access,
          signedOut: person
            ? `Sign in as ${fullName(person)} or as an admin to change this person.`
            : "Sign in as an admin to add people.",
          otherPerson: () => (person ? "You may change only your own names." : "Only an admin may add people."),
          own: { label: "Change your names", path: paths.person },
          signIn: handlers.signIn,
        }),
    },
    handlers,
  );
}

function namesView(person: Pick<Person, "fname" | "lname">) {
  return html`<dl class="editor__facts">
    <div><dt>First name</dt><dd>${person.fname}</dd></div>
    <div><dt>Last name</dt><dd>${person.lname}</dd></div>
  </dl>`;
}

function listView(state: PeopleState, handlers: PeopleHandlers) {
  const chosen = selectedId(state.editor.selection);
  return pagedListView(state.people, {
    noun: "people",
    empty: {
      title: "No people yet",
      body: state.access.mayAddPeople ? "Add the first person with the form." : "Nobody has been added yet.",
    },
    items: (people) =>
      html`<ul class="people-list card">
        ${repeat(
          people,
          (person) => person.person_id,
          (person) => personRow(person, person.person_id === chosen, state.people.fresh.has(person.person_id)),
        )}
      </ul>`,
    retry: handlers.retry,
    loadMore: handlers.loadMore,
  });
}

function personRow(person: Person, selected: boolean, fresh: boolean) {
  const name = fullName(person);
  return html`<li class="person-row ${selected ? "person-row--selected" : ""} ${fresh ? "is-fresh" : ""}">
    ${avatarView(person)}
    <div class="person-row__main">
      <a
        class="person-row__name"
        href=${paths.person(person.person_id)}
        aria-current=${selected ? "true" : nothing}
      >${name}</a>
      <span class="person-row__meta">Changed ${timeView(person.timestamp)}</span>
    </div>
    <a class="person-row__notes" href=${paths.notes(person.person_id)}>
      Notes<span class="visually-hidden"> by ${name}</span>
    </a>
  </li>`;
}

/** For admins: a one-time link with which the person sets up their account, or replaces its ways in. */
function invitePanelView(panel: InvitePanel, handlers: PeopleHandlers) {
  const made = panel.made;
  return html`<section class="card account-card" aria-labelledby="invite-heading">
    <h2 id="invite-heading" class="section-title">Account</h2>
    <p class="page__lead">
      A setup link lets this person choose a passkey or a password. A reset link replaces their
      passkeys and password and ends their sessions, for when they lost their way in.
    </p>
    ${problemView(panel.problem, handlers.dismissInvite)}
    ${
      made
        ? html`<div class="made-token">
          <label for="invite-link">${made.kind === "reset" ? "Reset" : "Setup"} link for ${made.account_name}: send it to them. It works once, until
            ${timeView(made.expires_at)}, and is shown only now.</label>
          <input id="invite-link" class="made-token__value" readonly .value=${made.link} />
          <div class="form__actions">
            <button type="button" class="button button--primary button--small" @click=${handlers.dismissInvite}>Done</button>
          </div>
        </div>`
        : html`<div class="form__actions">
          <button type="button" class="button button--secondary" ?disabled=${panel.busy} @click=${() => handlers.makeInvite("setup")}>
            Make a setup link
          </button>
          <button type="button" class="button button--danger-quiet" ?disabled=${panel.busy} @click=${() => handlers.makeInvite("reset")}>
            Make a reset link
          </button>
        </div>`
    }
  </section>`;
}

/** For admins: the person's personal access tokens, made and revoked for them. */
function personTokensView(panel: TokenPanelState & { readonly handlers: TokenHandlers }, person: Person | undefined) {
  const name = person ? fullName(person) : "this person";
  return html`<section class="card account-card" aria-labelledby="tokens-heading">
    <h2 id="tokens-heading" class="section-title">Personal access tokens</h2>
    <p class="page__lead">For ${name}'s scripts: a token may do what they may.</p>
    ${tokenPanelView(panel, panel.handlers, { waiting: false, madeLabel: (token) => `New token “${token}” for ${name}` })}
  </section>`;
}
