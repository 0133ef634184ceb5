import { html, nothing, type TemplateResult } from "lit";
import type { AccountState } from "../model/api.js";
import { NEW_PASSWORD_HINT } from "../model/limits.js";
import type { SignInForm } from "../model/sign-in-form.js";
import { paths } from "../router.js";
import { loadingView, problemView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { type AccountBar, type SignInHandlers, signInFormView } from "./session-view.js";

export type SignUpField = "fname" | "lname" | "password";

/** What the sign-in and sign-up pages need to know of who is signed in. */
export interface SignedInAs {
  checking: boolean;
  bar: AccountBar;
  signUp: AccountState["sign_up"] | undefined;
}

/** `/sign-in`: the ways in, or who is signed in already. */
export function signInPageView(form: SignInForm, handlers: SignInHandlers, session: SignedInAs) {
  const bar = session.bar;
  let body: TemplateResult;
  if (session.checking) body = loadingView("Checking your sign-in…");
  else if (bar.status === "signed-in") {
    body = html`<div class="notice">
      <p class="notice__text">You are signed in as ${bar.name}.</p>
      ${bar.account ? html`<a class="notice__link" href=${paths.account()}>Your account</a>` : nothing}
    </div>`;
  } else body = signInFormView(form, handlers, { prefix: "page-", cancel: false, signUp: session.signUp });
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">Sign in</h1>
      <p class="page__lead">Use a passkey, or your name and password. Scripts sign in with a token.</p>
    </header>
    <section class="card account-card">${body}</section>
  </div>`;
}

interface SignUpState {
  readonly values: Record<SignUpField, string>;
  readonly errors: Partial<Record<SignUpField, string>>;
  readonly busy: boolean;
  readonly problem: string | undefined;
  readonly signedIn: SignedInAs;
}

interface SignUpHandlers {
  input: (field: SignUpField, value: string) => void;
  submit: () => void;
  dismiss: () => void;
}

/** `/sign-up`: with `SIGN_UP=open`, a person makes themselves and their account. */
export function signUpPageView(state: SignUpState, handlers: SignUpHandlers) {
  const signUp = state.signedIn.signUp;
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.submit();
  };
  const field = (name: SignUpField, label: string, extra: Partial<Parameters<typeof fieldView>[0]>) =>
    fieldView({
      id: `sign-up-${name}`,
      label,
      value: state.values[name],
      error: state.errors[name],
      onInput: (value) => handlers.input(name, value),
      ...extra,
    });
  const body =
    signUp === undefined
      ? loadingView("Checking…")
      : signUp !== "open"
        ? html`<div class="notice">
            <p class="notice__text">Accounts are made by invitation here: ask an admin for an invite link.</p>
            <a class="notice__link" href=${paths.signIn()}>Sign in</a>
          </div>`
        : html`${problemView(state.problem, handlers.dismiss)}
          <form class="form" novalidate @submit=${submit}>
            ${field("fname", "First name", { autocomplete: "given-name" })}
            ${field("lname", "Last name", { autocomplete: "family-name", hint: "You sign in with your first and last name." })}
            ${field("password", "Password", { type: "password", autocomplete: "new-password", hint: NEW_PASSWORD_HINT })}
            <div class="form__actions">
              <button type="submit" class="button button--primary" ?disabled=${state.busy}>
                ${state.busy ? "Making your account…" : "Make my account"}
              </button>
            </div>
          </form>
          <p class="sign-in__more">Have an account? <a href=${paths.signIn()}>Sign in</a>.</p>`;
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">Make an account</h1>
      <p class="page__lead">You become a person here who writes notes. You can add a passkey afterwards.</p>
    </header>
    <section class="card account-card">${body}</section>
  </div>`;
}

interface InviteState {
  readonly code: string | undefined;
  readonly passkeyName: string;
  readonly password: string;
  readonly passkeyNameError: string | undefined;
  readonly passwordError: string | undefined;
  readonly busy: "passkey" | "password" | undefined;
  readonly problem: string | undefined;
}

interface InviteHandlers {
  input: (field: "passkeyName" | "password", value: string) => void;
  passkey: () => void;
  password: () => void;
  dismiss: () => void;
}

/** `/invite#pi_…`: a passkey (one button) or a password for the account the invite is for. */
export function invitePageView(state: InviteState, handlers: InviteHandlers) {
  const submitPassword = (event: Event) => {
    event.preventDefault();
    handlers.password();
  };
  const submitPasskey = (event: Event) => {
    event.preventDefault();
    handlers.passkey();
  };
  const body = state.code
    ? html`${problemView(state.problem, handlers.dismiss)}
        <section aria-labelledby="invite-passkey-heading">
          <h2 id="invite-passkey-heading" class="section-title">With a passkey</h2>
          <p class="page__lead">Your device keeps it: sign in with your fingerprint, face or screen lock. No password to remember.</p>
          <form class="form" novalidate @submit=${submitPasskey}>
            ${fieldView({
              id: "invite-passkey-name",
              label: "Name this passkey",
              value: state.passkeyName,
              error: state.passkeyNameError,
              hint: "So you can tell your passkeys apart, e.g. Phone. Optional.",
              autocomplete: "off",
              onInput: (value) => handlers.input("passkeyName", value),
            })}
            <div class="form__actions">
              <button type="submit" class="button button--primary" ?disabled=${state.busy !== undefined}>
                ${state.busy === "passkey" ? "Waiting for your passkey…" : "Create a passkey"}
              </button>
            </div>
          </form>
        </section>
        <section aria-labelledby="invite-password-heading">
          <h2 id="invite-password-heading" class="section-title">Or with a password</h2>
          <form class="form" novalidate @submit=${submitPassword}>
            ${fieldView({
              id: "invite-password",
              label: "New password",
              value: state.password,
              error: state.passwordError,
              hint: NEW_PASSWORD_HINT,
              type: "password",
              autocomplete: "new-password",
              onInput: (value) => handlers.input("password", value),
            })}
            <div class="form__actions">
              <button type="submit" class="button button--secondary" ?disabled=${state.busy !== undefined}>
                ${state.busy === "password" ? "Saving…" : "Set password"}
              </button>
            </div>
          </form>
        </section>`
    : html`<div class="state state--error" role="alert">
        <p class="state__title">This link holds no invite</p>
        <p class="state__body">Open the whole link you were given, or ask an admin for a new one.</p>
      </div>`;
  return html`<div class="page page--narrow">
    <header class="page__header">
      <h1 tabindex="-1">Set up your account</h1>
      <p class="page__lead">This link works once. Choose how you will sign in; you can add the other way later.</p>
    </header>
    <div class="card account-card">${body}</div>
  </div>`;
}
