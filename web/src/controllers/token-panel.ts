import { createToken, listTokens, revokeToken } from "../model/account.js";
import { type ApiError, type CreatedToken, type Token, type TokenInput, toApiError } from "../model/api.js";
import type { Loaded } from "../model/selection.js";
import { confirmAction } from "../views/confirm-dialog.js";
import type { TokenHandlers, TokenPanelState } from "../views/tokens-view.js";
import type { Host } from "./page.js";

/** Whose tokens a panel manages. */
export interface TokenHolder {
  /** Which of the tokens the server lists are this holder's (an admin is given everyone's). */
  shows(token: Token): boolean;
  /** The kind and person of a token made here. */
  tokenFor(): Pick<TokenInput, "kind" | "person_id">;
  /** A request was refused with 401: the sign-in is over. */
  signedOut?(): Promise<void>;
}

/** One holder's personal access tokens: listed, made (the secret shown once), revoked. */
export class TokenPanel implements TokenPanelState {
  tokens: Loaded<Token[]> = { status: "loading" };
  busy = false;
  problem: string | undefined;
  newToken = { name: "", days: "", attempted: false };
  /** The token just made: its secret is shown this once, until dismissed or the panel is left. */
  madeToken: CreatedToken | undefined;
  #disposed = false;

  constructor(
    private readonly host: Host,
    private readonly holder: TokenHolder,
  ) {}

  async load(): Promise<void> {
    try {
      const all = await listTokens();
      this.tokens = { status: "ready", value: all.filter((token) => this.holder.shows(token)) };
    } catch (error) {
      this.tokens = { status: "error", error: toApiError(error) };
    }
    if (!this.#disposed) this.host.update();
  }

  async #act(action: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.problem = undefined;
    this.host.update();
    try {
      await action();
      return true;
    } catch (error) {
      const problem: ApiError = toApiError(error);
      if (problem.status === 401) await this.holder.signedOut?.();
      this.problem = problem.message;
      return false;
    } finally {
      this.busy = false;
      if (!this.#disposed) this.host.update();
    }
  }

  get newTokenError(): string | undefined {
    return this.newToken.attempted && this.newToken.name.trim() === ""
      ? "Enter a name, such as the script's."
      : undefined;
  }

  async make(): Promise<void> {
    this.newToken.attempted = true;
    if (this.newTokenError) {
      this.host.update();
      this.host.focus("#token-name");
      return;
    }
    const days = Number(this.newToken.days);
    const input: TokenInput = {
      name: this.newToken.name.trim(),
      ...this.holder.tokenFor(),
      ...(days > 0 ? { expires_in_days: days } : {}),
    };
    const made = await this.#act(async () => {
      this.madeToken = await createToken(input);
    });
    if (made) {
      this.newToken = { name: "", days: "", attempted: false };
      await this.load();
      this.host.focus("#made-token");
    }
  }

  dismiss(): void {
    this.madeToken = undefined;
    this.host.update();
    this.host.focus("#token-name");
  }

  async revoke(token: Token): Promise<void> {
    const confirmed = await confirmAction({
      title: `Revoke the token “${token.name}”?`,
      message: "Scripts that use it will be refused from their next request on. This can't be undone.",
      confirmLabel: "Revoke token",
    });
    if (!confirmed) return;
    if (await this.#act(() => revokeToken(token.token_id))) {
      this.host.notify(`Token “${token.name}” revoked.`);
      await this.load();
    }
  }

  readonly handlers: TokenHandlers = {
    input: (field, value) => {
      this.newToken[field] = value;
      this.host.update();
    },
    make: () => void this.make(),
    dismiss: () => this.dismiss(),
    copy: (token) => void navigator.clipboard?.writeText(token).then(() => this.host.notify("Token copied.")),
    revoke: (token) => void this.revoke(token),
    dismissProblem: () => {
      this.problem = undefined;
      this.host.update();
    },
  };

  dispose(): void {
    this.#disposed = true;
    this.madeToken = undefined;
  }
}
