import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { CreatedToken, Token } from "../model/api.js";
import type { Loaded } from "../model/selection.js";
import { loadErrorView, loadingView, problemView, shownOnceView } from "./feedback.js";
import { fieldView } from "./fields.js";
import { timeView } from "./time.js";

/** What the token form offers: never, or a number of days (the contract allows 1 to 3650). */
const TOKEN_LIFETIMES_DAYS = [30, 90, 365];

/** Personal access tokens of one holder, as the account page and an admin's view of a person show them. */
export interface TokenPanelState {
  readonly tokens: Loaded<Token[]>;
  /** A request is running: the panel's buttons wait. */
  readonly busy: boolean;
  readonly problem: string | undefined;
  readonly newToken: { name: string; days: string };
  readonly newTokenError: string | undefined;
  /** The token just made: its secret is shown this once. */
  readonly madeToken: CreatedToken | undefined;
}

export interface TokenHandlers {
  input: (field: "name" | "days", value: string) => void;
  make: () => void;
  dismiss: () => void;
  copy: (token: string) => void;
  revoke: (token: Token) => void;
  dismissProblem: () => void;
}

export interface TokenPanelOptions {
  /** Another request of the page is running: the panel's buttons wait too. */
  readonly waiting: boolean;
  /** The label of the token just made, e.g. "Your new token “Backup script”". */
  readonly madeLabel: (name: string) => string;
}

/** The token just made (shown once), the tokens, and the form that makes one. */
export function tokenPanelView(panel: TokenPanelState, handlers: TokenHandlers, options: TokenPanelOptions) {
  const disabled = panel.busy || options.waiting;
  const list = panel.tokens;
  return html`${problemView(panel.problem, handlers.dismissProblem)} ${madeTokenView(panel.madeToken, handlers, options)}
    ${
      list.status === "loading"
        ? loadingView("Loading tokens…")
        : list.status === "error"
          ? loadErrorView("tokens", list.error, () => location.reload())
          : tokensView(list.value, disabled, handlers)
    }
    ${tokenFormView(panel, disabled, handlers)}`;
}

function madeTokenView(made: CreatedToken | undefined, handlers: TokenHandlers, options: TokenPanelOptions) {
  if (!made) return nothing;
  return shownOnceView({
    id: "made-token",
    label: options.madeLabel(made.name),
    value: made.token,
    copy: handlers.copy,
    done: handlers.dismiss,
  });
}

function tokenState(token: Token): string {
  if (token.revoked_at) return "revoked";
  if (token.expires_at && Date.parse(token.expires_at) <= Date.now()) return "expired";
  return token.expires_at ? "active" : "active, never expires";
}

function tokensView(tokens: Token[], disabled: boolean, handlers: TokenHandlers) {
  if (tokens.length === 0) return html`<p class="page__lead">No tokens yet.</p>`;
  return html`<ul class="account-list">
    ${repeat(
      tokens,
      (token) => token.token_id,
      (token) => html`<li class="account-list__row" data-token=${token.token_id}>
        <div class="account-list__main">
          <span class="account-list__name">${token.name} <code>pn_${token.prefix}_…</code></span>
          <span class="account-list__meta">${tokenState(token)} · made ${timeView(token.created_at)}
            ${token.last_used_at ? html` · last used ${timeView(token.last_used_at)}` : nothing}
            ${token.expires_at && !token.revoked_at ? html` · expires ${timeView(token.expires_at)}` : nothing}</span>
        </div>
        ${
          token.revoked_at
            ? nothing
            : html`<button
              type="button"
              class="button button--danger-quiet button--small"
              ?disabled=${disabled}
              @click=${() => handlers.revoke(token)}
            >Revoke<span class="visually-hidden"> ${token.name}</span></button>`
        }
      </li>`,
    )}
  </ul>`;
}

function tokenFormView(panel: TokenPanelState, disabled: boolean, handlers: TokenHandlers) {
  const submit = (event: Event) => {
    event.preventDefault();
    handlers.make();
  };
  return html`<form class="form account-form" novalidate @submit=${submit}>
    ${fieldView({
      id: "token-name",
      label: "New token's name",
      value: panel.newToken.name,
      error: panel.newTokenError,
      hint: "What it is for, e.g. Backup script.",
      autocomplete: "off",
      onInput: (value) => handlers.input("name", value),
    })}
    <div class="field">
      <label for="token-days">Expires</label>
      <select id="token-days" .value=${panel.newToken.days} @change=${(event: Event) => handlers.input("days", (event.target as HTMLSelectElement).value)}>
        <option value="">Never</option>
        ${TOKEN_LIFETIMES_DAYS.map((days) => html`<option value=${String(days)}>In ${days} days</option>`)}
      </select>
    </div>
    <div class="form__actions">
      <button type="submit" class="button button--secondary" ?disabled=${disabled}>
        ${panel.busy ? "Making…" : "Make token"}
      </button>
    </div>
  </form>`;
}
