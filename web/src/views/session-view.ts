import { html, nothing, type TemplateResult } from "lit";
import type { PersonRef } from "../model/access.js";
import type { SignInForm } from "../model/sign-in-form.js";
import { avatarView } from "./avatar.js";
import { fieldView } from "./fields.js";
import { modal } from "./modal.js";

/** The navigation bar's account area: nothing while writes need no token, else Sign in or who is signed in. */
export type Account =
  | { status: "none" }
  | { status: "signed-out" }
  /** `person`: whom a person token writes for; none for an admin token. */
  | { status: "signed-in"; name: string; person: PersonRef | undefined };

interface AccountHandlers {
  signIn: () => void;
  signOut: () => void;
}

export function accountView(account: Account, handlers: AccountHandlers): TemplateResult | typeof nothing {
  if (account.status === "none") return nothing;
  if (account.status === "signed-out") {
    return html`<div class="account">
      <button type="button" id="account-control" class="button button--secondary button--small" @click=${handlers.signIn}>
        Sign in
      </button>
    </div>`;
  }
  // On a phone the person's initials stand for the name, so the bar stays one row.
  return html`<div class="account">
    ${account.person ? avatarView(account.person) : nothing}
    <p class="account__name"><span class="visually-hidden">Signed in as </span>${account.name}</p>
    <button type="button" id="account-control" class="button button--secondary button--small" @click=${handlers.signOut}>
      Sign out
    </button>
  </div>`;
}

interface SignInHandlers {
  input: (value: string) => void;
  submit: () => void;
  closed: () => void;
}

/** The modal that takes a token; Escape or Cancel closes it without signing in. */
export function signInDialogView(form: SignInForm, handlers: SignInHandlers) {
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  return html`<dialog
    class="dialog"
    aria-labelledby="sign-in-title"
    aria-describedby="sign-in-intro"
    @close=${handlers.closed}
    ${modal(form.open)}
  >
    <form class="dialog__body" novalidate @submit=${submit}>
      <h2 id="sign-in-title" class="dialog__title">Sign in</h2>
      <div id="sign-in-intro" class="dialog__message">
        ${
          form.reason
            ? html`<p>Your change was not saved. The server said: “${form.reason}”.</p>
              <p>Sign in, then save again: what you typed is kept.</p>`
            : html`<p>Paste the token you were given. This tab keeps it until you sign out or close the tab.</p>`
        }
      </div>
      ${fieldView({
        id: "sign-in-token",
        label: "Token",
        value: form.token,
        error: form.error,
        hint: "It starts with pn_.",
        type: "password",
        autocomplete: "off",
        autofocus: true,
        onInput: handlers.input,
      })}
      <div class="dialog__actions">
        <button type="button" class="button button--secondary" @click=${handlers.closed}>Cancel</button>
        <button type="submit" class="button button--primary" ?disabled=${form.busy}>
          ${form.busy ? "Signing in…" : "Sign in"}
        </button>
      </div>
    </form>
  </dialog>`;
}
