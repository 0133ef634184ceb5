import { html, nothing, type TemplateResult } from "lit";
import type { PersonRef } from "../model/access.js";
import type { AccountState } from "../model/api.js";
import type { SignInForm, SignInMode } from "../model/sign-in-form.js";
import { paths } from "../router.js";
import { avatarView } from "./avatar.js";
import { fieldView } from "./fields.js";
import { modal } from "./modal.js";

/** The navigation bar's account area: nothing while writes need no sign-in, else Sign in or who is signed in. */
export type AccountBar =
  | { status: "none" }
  | { status: "signed-out" }
  /** `person`: whom the sign-in writes for; none for an admin. `account`: signed in as an account, not with a token. */
  | { status: "signed-in"; name: string; person: PersonRef | undefined; account: boolean };

interface AccountHandlers {
  signIn: () => void;
  signOut: () => void;
}

export function accountView(account: AccountBar, handlers: AccountHandlers): TemplateResult | typeof nothing {
  if (account.status === "none") return nothing;
  if (account.status === "signed-out") {
    return html`<div class="account">
      <button type="button" id="account-control" class="button button--secondary button--small" @click=${handlers.signIn}>
        Sign in
      </button>
    </div>`;
  }
  // On a phone the person's initials stand for the name, so the bar stays one row.
  const name = html`<span class="visually-hidden">Signed in as </span>${account.name}`;
  return html`<div class="account">
    ${account.person ? avatarView(account.person) : nothing}
    ${
      account.account
        ? html`<a class="account__name" href=${paths.account()} title="Your account">${name}</a>`
        : html`<p class="account__name">${name}</p>`
    }
    <button type="button" id="account-control" class="button button--secondary button--small" @click=${handlers.signOut}>
      Sign out
    </button>
  </div>`;
}

export interface SignInHandlers {
  input: (field: "token" | "name" | "password", value: string) => void;
  mode: (mode: SignInMode) => void;
  submit: () => void;
  passkey: () => void;
  closed: () => void;
}

/**
 * The ways in: a passkey (one button), a name and password, or, for scripts and API users, a
 * pasted token. `prefix` keeps the ids of the page's form apart from the dialog's.
 */
export function signInFormView(
  form: SignInForm,
  handlers: SignInHandlers,
  { prefix, cancel, signUp }: { prefix: string; cancel: boolean; signUp: AccountState["sign_up"] | undefined },
) {
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  const cancelButton = cancel
    ? html`<button type="button" class="button button--secondary" @click=${handlers.closed}>Cancel</button>`
    : nothing;
  if (form.mode === "token") {
    return html`<form class="form" novalidate @submit=${submit}>
      ${fieldView({
        id: `${prefix}sign-in-token`,
        label: "Token",
        value: form.token,
        error: form.error,
        hint: "It starts with pn_.",
        type: "password",
        autocomplete: "off",
        autofocus: true,
        onInput: (value) => handlers.input("token", value),
      })}
      <div class="dialog__actions">
        <button type="button" class="button button--quiet" @click=${() => handlers.mode("account")}>
          Use a passkey or password
        </button>
        ${cancelButton}
        <button type="submit" class="button button--primary" ?disabled=${form.busy !== undefined}>
          ${form.busy ? "Signing in…" : "Sign in"}
        </button>
      </div>
    </form>`;
  }
  const error = form.error;
  return html`<div class="sign-in">
    <button
      type="button"
      id="${prefix}sign-in-passkey"
      class="button button--primary sign-in__passkey"
      ?disabled=${form.busy !== undefined}
      aria-describedby=${error ? `${prefix}sign-in-problem` : nothing}
      @click=${handlers.passkey}
    >
      ${form.busy === "passkey" ? "Waiting for your passkey…" : "Sign in with a passkey"}
    </button>
    ${error ? html`<p class="field__error" id="${prefix}sign-in-problem" role="alert">${error}</p>` : nothing}
    <p class="sign-in__or">or with your name and password</p>
    <form class="form" novalidate @submit=${submit}>
      ${fieldView({
        id: `${prefix}sign-in-name`,
        label: "Name",
        value: form.name,
        error: form.nameError,
        hint: "Your first and last name, or your admin account's name.",
        autocomplete: "username",
        onInput: (value) => handlers.input("name", value),
      })}
      ${fieldView({
        id: `${prefix}sign-in-password`,
        label: "Password",
        value: form.password,
        error: form.passwordError,
        type: "password",
        autocomplete: "current-password",
        onInput: (value) => handlers.input("password", value),
      })}
      <div class="dialog__actions">
        <button type="button" class="button button--quiet" @click=${() => handlers.mode("token")}>
          Sign in with a token
        </button>
        ${cancelButton}
        <button type="submit" class="button button--primary" ?disabled=${form.busy !== undefined}>
          ${form.busy === "password" ? "Signing in…" : "Sign in"}
        </button>
      </div>
    </form>
    ${
      signUp === "open"
        ? html`<p class="sign-in__more">New here? <a href=${paths.signUp()}>Make an account</a>.</p>`
        : html`<p class="sign-in__more">New here? Ask an admin for an invite link.</p>`
    }
  </div>`;
}

/** The modal sign-in; Escape or Cancel closes it without signing in. */
export function signInDialogView(
  form: SignInForm,
  handlers: SignInHandlers,
  signUp: AccountState["sign_up"] | undefined,
) {
  const intro = form.reason
    ? html`<p>Your change was not saved. The server said: “${form.reason}”.</p>
        <p>Sign in, then save again: what you typed is kept.</p>`
    : form.mode === "token"
      ? html`<p>Paste the token you were given. This tab keeps it until you sign out or close the tab.</p>`
      : html`<p>Use a passkey, or your name and password.</p>`;
  return html`<dialog
    class="dialog"
    aria-labelledby="sign-in-title"
    aria-describedby="sign-in-intro"
    @close=${handlers.closed}
    ${modal(form.open)}
  >
    <div class="dialog__body">
      <h2 id="sign-in-title" class="dialog__title">Sign in</h2>
      <div id="sign-in-intro" class="dialog__message">${intro}</div>
      ${signInFormView(form, handlers, { prefix: "", cancel: true, signUp })}
    </div>
  </dialog>`;
}
