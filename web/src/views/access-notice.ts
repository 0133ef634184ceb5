import { html, nothing } from "lit";
import type { Access } from "../model/access.js";
import { fullName } from "../model/people.js";
import { loadingView } from "./feedback.js";

interface NoticeOptions {
  access: Access;
  /** To someone signed out: what signing in would allow. */
  signedOut: string;
  /** To someone signed in with a token for another person. */
  otherPerson: (name: string) => string;
  /** Where that person may act instead. */
  own: { label: string; path: (personId: number) => string };
  signIn: () => void;
}

/** In place of a form the signed-in user may not use: why, and what they can do instead. */
export function accessNoticeView({ access, signedOut, otherPerson, own, signIn }: NoticeOptions) {
  if (access.checking) return loadingView("Checking your sign-in…");
  if (access.signedOut) {
    return html`<div class="notice">
      <p class="notice__text">${signedOut}</p>
      <button type="button" class="button button--primary" @click=${signIn}>Sign in</button>
    </div>`;
  }
  const person = access.person;
  return html`<div class="notice">
    <p class="notice__text">${otherPerson(person ? fullName(person) : "a person")}</p>
    ${person ? html`<a class="notice__link" href=${own.path(person.person_id)}>${own.label}</a>` : nothing}
  </div>`;
}
