import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { Person } from "../model/api.js";
import { NAME_MAX_LENGTH } from "../model/limits.js";
import type { PagedList } from "../model/paged-list.js";
import { fullName } from "../model/people.js";
import type { PersonField, PersonForm } from "../model/person-form.js";
import { type Busy, type Selection, selectedId, selectedValue } from "../model/selection.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { emptyView, loadErrorView, loadingView, loadMoreView, problemView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";

export interface PeopleState {
  readonly people: PagedList<Person>;
  readonly form: PersonForm;
  readonly selection: Selection<Person>;
  readonly busy: Busy;
}

interface PeopleHandlers {
  retry: () => void;
  loadMore: () => void;
  input: (field: PersonField, value: string) => void;
  submit: () => void;
  remove: () => void;
  dismissProblem: () => void;
}

export function peopleView(state: PeopleState, handlers: PeopleHandlers) {
  return html`<div class="page">
    <header class="page__header">
      <h1 tabindex="-1">People</h1>
      <p class="page__lead">Everyone who writes notes, by last name. Add someone, or choose a person to edit.</p>
    </header>
    <div class="split">
      <section class="card editor" aria-labelledby="editor-heading">${editorView(state, handlers)}</section>
      <section class="list-section" aria-labelledby="people-heading">
        <h2 id="people-heading" class="section-title" tabindex="-1">All people</h2>
        ${listView(state, handlers)}
      </section>
    </div>
  </div>`;
}

function editorView(state: PeopleState, handlers: PeopleHandlers) {
  const { selection, form, busy } = state;
  if (selection.status === "loading") {
    return html`<h2 id="editor-heading" class="section-title">Edit person</h2>
      ${loadingView("Loading person…")}`;
  }
  if (selection.status === "error") {
    return html`<h2 id="editor-heading" class="section-title">Person not available</h2>
      <div class="state state--error" role="alert">
        <p class="state__body">${selection.error.message}</p>
        <a class="button button--secondary" href=${paths.people()}>Add a person instead</a>
      </div>`;
  }
  const person = selectedValue(selection);
  const errors = form.errors;
  const hint = `Up to ${NAME_MAX_LENGTH} characters.`;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  return html`<div class="editor__head">
      <h2 id="editor-heading" class="section-title">${person ? "Edit person" : "Add a person"}</h2>
      ${person ? html`<span class="badge" title="Person ID">#${person.person_id}</span>` : nothing}
    </div>
    ${
      person
        ? html`<p class="editor__meta">Last changed ${timeView(person.timestamp)}</p>`
        : html`<p class="editor__meta">New people start with no notes.</p>`
    }
    ${problemView(form.problem, handlers.dismissProblem)}
    <form class="form" novalidate @submit=${submit}>
      ${fieldView({
        id: "person-fname",
        label: "First name",
        value: form.fname,
        error: errors.fname,
        hint,
        autocomplete: "off",
        onInput: (value) => handlers.input("fname", value),
      })}
      ${fieldView({
        id: "person-lname",
        label: "Last name",
        value: form.lname,
        error: errors.lname,
        hint,
        autocomplete: "off",
        onInput: (value) => handlers.input("lname", value),
      })}
      <div class="form__actions">
        <button type="submit" class="button button--primary" ?disabled=${busy !== undefined}>
          ${busy === "saving" ? "Saving…" : person ? "Save changes" : "Add person"}
        </button>
        ${
          person
            ? html`<a class="button button--secondary" href=${paths.people()}>Cancel</a>
              <button
                type="button"
                class="button button--danger-quiet"
                ?disabled=${busy !== undefined}
                @click=${handlers.remove}
              >
                ${busy === "deleting" ? "Deleting…" : "Delete"}
              </button>`
            : nothing
        }
      </div>
    </form>
    ${
      person
        ? html`<a class="editor__notes-link" href=${paths.notes(person.person_id)}>
          View ${fullName(person)}'s notes <span aria-hidden="true">→</span>
        </a>`
        : nothing
    }`;
}

function listView(state: PeopleState, handlers: PeopleHandlers) {
  const { people, selection } = state;
  if (people.status === "loading") return loadingView("Loading people…");
  if (people.status === "error") return loadErrorView("people", people.error, handlers.retry);
  if (people.items.length === 0) return emptyView("No people yet", "Add the first person with the form.");
  const chosen = selectedId(selection);
  return html`<ul class="people-list card">
      ${repeat(
        people.items,
        (person) => person.person_id,
        (person) => personRow(person, person.person_id === chosen),
      )}
    </ul>
    ${loadMoreView({
      shown: people.items.length,
      total: people.total,
      noun: "people",
      hasMore: people.hasMore,
      loading: people.loadingMore,
      error: people.moreError,
      loadMore: handlers.loadMore,
    })}`;
}

function personRow(person: Person, selected: boolean) {
  const name = fullName(person);
  return html`<li class="person-row ${selected ? "person-row--selected" : ""}">
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
