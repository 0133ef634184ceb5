import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { deviceOf } from "../model/account.js";
import type { Account, AccountSession, Passkey } from "../model/api.js";
import { NEW_PASSWORD_HINT } from "../model/limits.js";
import { fullName } from "../model/people.js";
import type { Loaded } from "../model/selection.js";
import { paths } from "../router.js";
import { loadErrorView, loadingView, problemView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";
import { type TokenHandlers, type TokenPanelState, tokenPanelView } from "./tokens-view.js";

export type AccountSection = "sessions" | "password" | "passkeys";

/** The account page's state, as its controller keeps it. */
export interface AccountPageState {
  readonly checking: boolean;
  readonly byToken: boolean;
  readonly sessions: Loaded<AccountSession[]>;
  readonly passkeys: Loaded<Passkey[]>;
  readonly tokens: TokenPanelState;
  /** The section a request is running in; its buttons wait. */
  readonly busy: AccountSection | undefined;
  readonly problem: { section: AccountSection; message: string } | undefined;
  readonly password: { current: string; next: string };
  readonly passwordErrors: { current?: string; next?: string };
  readonly newPasskeyName: string;
  readonly newPasskeyNameError: string | undefined;
  readonly renaming: { passkeyId: number; name: string } | undefined;
  readonly renameError: string | undefined;
}

interface AccountHandlers {
  signIn: () => void;
  endOne: (sessionId: number) => void;
  endOthers: () => void;
  passwordInput: (field: "current" | "next", value: string) => void;
  savePassword: () => void;
  passkeyNameInput: (value: string) => void;
  addPasskey: () => void;
  startRename: (passkey: Passkey) => void;
  renameInput: (value: string) => void;
  saveRename: () => void;
  cancelRename: () => void;
  remove: (passkey: Passkey) => void;
  tokens: TokenHandlers;
  dismissProblem: () => void;
}

const submitting = (action: () => void) => (event: Event) => {
  event.preventDefault();
  action();
};

function listOf<T>(loaded: Loaded<T[]>, noun: string, items: (value: T[]) => TemplateResult) {
  if (loaded.status === "loading") return loadingView(`Loading ${noun}…`);
  if (loaded.status === "error") return loadErrorView(noun, loaded.error, () => location.reload());
  return items(loaded.value);
}

/** `/account`: who is signed in, and what they manage about signing in. */
export function accountPageView(state: AccountPageState, account: Account | undefined, handlers: AccountHandlers) {
  const header = html`<header class="page__header">
    <h1 tabindex="-1">Your account</h1>
    ${
      account
        ? html`<p class="page__lead">
          Signed in as <strong>${account.person ? fullName(account.person) : account.name}</strong>${account.kind === "admin" ? " (admin)" : nothing}.
          ${account.person ? html`<a href=${paths.notes(account.person.person_id)}>Your notes</a>` : nothing}
        </p>`
        : nothing
    }
  </header>`;
  if (!account) {
    const { checking, byToken } = state;
    return html`<div class="page page--narrow">
      ${header}
      ${
        checking
          ? loadingView("Checking your sign-in…")
          : html`<div class="notice">
            <p class="notice__text">
              ${
                byToken
                  ? "You are signed in with a token. Sign out, then sign in with a passkey or password to manage your account."
                  : "Sign in to see your sessions, passkeys, password and tokens."
              }
            </p>
            ${byToken ? nothing : html`<button type="button" class="button button--primary" @click=${handlers.signIn}>Sign in</button>`}
          </div>`
      }
    </div>`;
  }
  const problemIn = (section: AccountSection | undefined) =>
    state.problem && state.problem.section === section
      ? problemView(state.problem.message, handlers.dismissProblem)
      : nothing;
  return html`<div class="page page--narrow account-page">
    ${header}
    <section class="card account-card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading" class="section-title">Sessions</h2>
      <p class="page__lead">Where you are signed in. End any you do not recognise.</p>
      ${problemIn("sessions")}
      ${listOf(state.sessions, "sessions", (sessions) => sessionsView(sessions, state, handlers))}
    </section>
    <section class="card account-card" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading" class="section-title">Passkeys</h2>
      ${problemIn("passkeys")}
      ${listOf(state.passkeys, "passkeys", (passkeys) => passkeysView(passkeys, state, handlers))}
      <form class="form account-form" novalidate @submit=${submitting(handlers.addPasskey)}>
        ${fieldView({
          id: "passkey-name",
          label: "New passkey's name",
          value: state.newPasskeyName,
          error: state.newPasskeyNameError,
          hint: "Optional, e.g. Laptop.",
          autocomplete: "off",
          onInput: handlers.passkeyNameInput,
        })}
        <div class="form__actions">
          <button type="submit" class="button button--secondary" ?disabled=${state.busy !== undefined}>Add a passkey</button>
        </div>
      </form>
    </section>
    <section class="card account-card" aria-labelledby="password-heading">
      <h2 id="password-heading" class="section-title">Password</h2>
      ${problemIn("password")}
      ${passwordView(state, account, handlers)}
    </section>
    <section class="card account-card" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading" class="section-title">Personal access tokens</h2>
      <p class="page__lead">For scripts and the API: <code>Authorization: Bearer &lt;token&gt;</code>. A token may do what you may.</p>
      ${tokenPanelView(state.tokens, handlers.tokens, {
        waiting: state.busy !== undefined,
        madeLabel: (name) => `Your new token “${name}”`,
      })}
    </section>
  </div>`;
}

function sessionsView(sessions: AccountSession[], state: AccountPageState, handlers: AccountHandlers) {
  const others = sessions.filter((row) => !row.current).length;
  return html`<ul class="account-list">
      ${repeat(
        sessions,
        (row) => row.session_id,
        (row) => html`<li class="account-list__row" data-session=${row.session_id}>
          <div class="account-list__main">
            <span class="account-list__name">${deviceOf(row.user_agent)}${row.current ? html` <span class="badge">This device</span>` : nothing}</span>
            <span class="account-list__meta">${row.address ?? "Unknown address"} · last seen ${timeView(row.last_seen_at)}</span>
          </div>
          ${
            row.current
              ? nothing
              : html`<button
                type="button"
                class="button button--secondary button--small"
                ?disabled=${state.busy !== undefined}
                @click=${() => handlers.endOne(row.session_id)}
              >End<span class="visually-hidden"> session on ${deviceOf(row.user_agent)}</span></button>`
          }
        </li>`,
      )}
    </ul>
    ${
      others > 0
        ? html`<div class="form__actions">
          <button type="button" class="button button--danger-quiet" ?disabled=${state.busy !== undefined} @click=${handlers.endOthers}>
            End all other sessions
          </button>
        </div>`
        : nothing
    }`;
}

function passkeysView(passkeys: Passkey[], state: AccountPageState, handlers: AccountHandlers) {
  if (passkeys.length === 0)
    return html`<p class="page__lead">No passkeys yet. Add one to sign in without a password.</p>`;
  return html`<ul class="account-list">
    ${repeat(
      passkeys,
      (passkey) => passkey.passkey_id,
      (passkey) => {
        const renaming = state.renaming?.passkeyId === passkey.passkey_id ? state.renaming : undefined;
        if (renaming) {
          return html`<li class="account-list__row">
            <form class="account-list__main" novalidate @submit=${submitting(handlers.saveRename)}>
              ${fieldView({
                id: `passkey-${passkey.passkey_id}-name`,
                label: "Passkey name",
                value: renaming.name,
                error: state.renameError,
                autocomplete: "off",
                onInput: handlers.renameInput,
              })}
              <div class="form__actions">
                <button type="button" class="button button--secondary button--small" @click=${handlers.cancelRename}>Cancel</button>
                <button type="submit" class="button button--primary button--small" ?disabled=${state.busy !== undefined}>Save name</button>
              </div>
            </form>
          </li>`;
        }
        return html`<li class="account-list__row" data-passkey=${passkey.passkey_id}>
          <div class="account-list__main">
            <span class="account-list__name">${passkey.name}</span>
            <span class="account-list__meta">Added ${timeView(passkey.created_at)} ·
              ${passkey.last_used_at ? html`last used ${timeView(passkey.last_used_at)}` : "never used to sign in"}</span>
          </div>
          <button
            type="button"
            id="passkey-${passkey.passkey_id}-rename"
            class="button button--secondary button--small"
            ?disabled=${state.busy !== undefined}
            @click=${() => handlers.startRename(passkey)}
          >Rename<span class="visually-hidden"> ${passkey.name}</span></button>
          <button
            type="button"
            class="button button--danger-quiet button--small"
            ?disabled=${state.busy !== undefined}
            @click=${() => handlers.remove(passkey)}
          >Remove<span class="visually-hidden"> ${passkey.name}</span></button>
        </li>`;
      },
    )}
  </ul>`;
}

function passwordView(state: AccountPageState, account: Account, handlers: AccountHandlers) {
  const errors = state.passwordErrors;
  return html`<p class="page__lead">
      ${
        account.password
          ? "Changing it ends your other sessions."
          : "You sign in with a passkey only. A password is a second way in, should you lose your passkeys."
      }
    </p>
    <form class="form account-form" novalidate @submit=${submitting(handlers.savePassword)}>
      <input type="text" name="username" autocomplete="username" value=${account.name} hidden />
      ${
        account.password
          ? fieldView({
              id: "password-current",
              label: "Current password",
              value: state.password.current,
              error: errors.current,
              type: "password",
              autocomplete: "current-password",
              onInput: (value) => handlers.passwordInput("current", value),
            })
          : nothing
      }
      ${fieldView({
        id: "password-new",
        label: "New password",
        value: state.password.next,
        error: errors.next,
        hint: NEW_PASSWORD_HINT,
        type: "password",
        autocomplete: "new-password",
        onInput: (value) => handlers.passwordInput("next", value),
      })}
      <div class="form__actions">
        <button type="submit" class="button button--secondary" ?disabled=${state.busy !== undefined}>
          ${state.busy === "password" ? "Saving…" : account.password ? "Change password" : "Set password"}
        </button>
      </div>
    </form>`;
}
