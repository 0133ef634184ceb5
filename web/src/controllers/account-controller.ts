import {
  addPasskey,
  changePassword,
  endSession,
  listPasskeys,
  listSessions,
  readAccount,
  removePasskey,
  renamePasskey,
} from "../model/account.js";
import { type Account, type AccountSession, type ApiError, type Passkey, toApiError } from "../model/api.js";
import { checkNewPassword, checkPasskeyName } from "../model/limits.js";
import type { Loaded } from "../model/selection.js";
import { type AccountPageState, type AccountSection, accountPageView } from "../views/account-view.js";
import { confirmAction } from "../views/confirm-dialog.js";
import type { Host, PageController } from "./page.js";
import type { SessionController } from "./session-controller.js";
import { TokenPanel } from "./token-panel.js";

/**
 * `/account`: who is signed in, their sessions (end one, or all others), their password, their
 * passkeys (add, rename, remove) and their personal access tokens (make one, shown once; revoke).
 */
export class AccountController implements PageController, AccountPageState {
  readonly title = "Your account";
  sessions: Loaded<AccountSession[]> = { status: "loading" };
  passkeys: Loaded<Passkey[]> = { status: "loading" };
  readonly tokens: TokenPanel;
  /** The section a request is running in; its buttons wait. */
  busy: AccountSection | undefined;
  problem: { section: AccountSection; message: string } | undefined;
  password = { current: "", next: "", attempted: false };
  newPasskeyName = "";
  renaming: { passkeyId: number; name: string; attempted: boolean } | undefined;
  #loadedFor: number | undefined;
  #disposed = false;

  constructor(
    private readonly host: Host,
    private readonly session: SessionController,
  ) {
    // The account's own tokens (an admin is listed everyone's), of the account's own kind.
    this.tokens = new TokenPanel(host, {
      shows: () => true,
      tokenFor: () => ({ kind: this.account?.kind ?? "person" }),
      signedOut: () => this.session.start(),
    });
  }

  get checking(): boolean {
    return this.session.state.status === "checking";
  }

  get byToken(): boolean {
    return Boolean(this.session.known?.token);
  }

  get account(): Account | undefined {
    const known = this.session.known;
    return known?.token ? undefined : (known?.account ?? undefined);
  }

  show(): void {}

  /** Loads the lists once an account is signed in (the sign-in may be learnt after the page is shown). */
  #loadFor(account: Account | undefined): void {
    if (!account || this.#loadedFor === account.session_id) return;
    this.#loadedFor = account.session_id;
    void this.#load("sessions");
    void this.#load("passkeys");
    void this.tokens.load();
  }

  async #load(list: "sessions" | "passkeys"): Promise<void> {
    try {
      if (list === "sessions") this.sessions = { status: "ready", value: await listSessions() };
      if (list === "passkeys") this.passkeys = { status: "ready", value: await listPasskeys() };
    } catch (error) {
      this[list] = { status: "error", error: toApiError(error) };
    }
    if (!this.#disposed) this.host.update();
  }

  /** Runs one action of a section: its buttons wait, and a refusal is shown in that section. */
  async #act(section: AccountSection, action: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = section;
    this.problem = undefined;
    this.host.update();
    try {
      await action();
      return true;
    } catch (error) {
      const problem: ApiError = toApiError(error);
      if (problem.status === 401) {
        // The session is over (ended elsewhere, or expired): the page shows the way back in.
        await this.session.start();
      }
      this.problem = { section, message: problem.message };
      return false;
    } finally {
      this.busy = undefined;
      if (!this.#disposed) this.host.update();
    }
  }

  async endOne(sessionId: number): Promise<void> {
    if (await this.#act("sessions", () => endSession(sessionId))) {
      this.host.notify("Session ended.");
      await this.#load("sessions");
    }
  }

  async endOthers(): Promise<void> {
    const others = this.sessions.status === "ready" ? this.sessions.value.filter((row) => !row.current) : [];
    const ended = await this.#act("sessions", async () => {
      for (const row of others) await endSession(row.session_id);
    });
    if (ended) {
      this.host.notify(others.length === 1 ? "1 other session ended." : `${others.length} other sessions ended.`);
      await this.#load("sessions");
    }
  }

  get passwordErrors(): { current?: string; next?: string } {
    if (!this.password.attempted) return {};
    return {
      current: this.account?.password && this.password.current === "" ? "Enter your current password." : undefined,
      next: checkNewPassword(this.password.next),
    };
  }

  async savePassword(): Promise<void> {
    const account = this.account;
    if (!account) return;
    this.password.attempted = true;
    const errors = this.passwordErrors;
    if (errors.current || errors.next) {
      this.host.update();
      this.host.focus(errors.current ? "#password-current" : "#password-new");
      return;
    }
    const had = account.password;
    const done = await this.#act("password", async () => {
      await changePassword(had ? this.password.current : undefined, this.password.next);
      this.session.signedIn(
        await readAccount(),
        had ? "Password changed. Your other sessions were ended." : "Password set.",
      );
    });
    if (done) {
      this.password = { current: "", next: "", attempted: false };
      this.#loadedFor = this.account?.session_id;
      await this.#load("sessions");
    } else {
      this.host.focus(had ? "#password-current" : "#password-new");
    }
  }

  get newPasskeyNameError(): string | undefined {
    return this.newPasskeyName.trim() === "" ? undefined : checkPasskeyName(this.newPasskeyName);
  }

  async addPasskey(): Promise<void> {
    if (this.newPasskeyNameError) {
      this.host.update();
      this.host.focus("#passkey-name");
      return;
    }
    const name = this.newPasskeyName.trim() || "Passkey";
    if (await this.#act("passkeys", () => addPasskey(name).then(() => undefined))) {
      this.newPasskeyName = "";
      this.host.notify(`Passkey “${name}” added.`);
      await this.#load("passkeys");
    }
  }

  startRename(passkey: Passkey): void {
    this.renaming = { passkeyId: passkey.passkey_id, name: passkey.name, attempted: false };
    this.problem = undefined;
    this.host.update();
    this.host.focus(`#passkey-${passkey.passkey_id}-name`);
  }

  get renameError(): string | undefined {
    return this.renaming?.attempted ? checkPasskeyName(this.renaming.name) : undefined;
  }

  async saveRename(): Promise<void> {
    const renaming = this.renaming;
    if (!renaming) return;
    renaming.attempted = true;
    if (this.renameError) {
      this.host.update();
      this.host.focus(`#passkey-${renaming.passkeyId}-name`);
      return;
    }
    if (await this.#act("passkeys", () => renamePasskey(renaming.passkeyId, renaming.name.trim()).then(() => {}))) {
      this.renaming = undefined;
      this.host.notify("Passkey renamed.");
      await this.#load("passkeys");
      this.host.focus(`#passkey-${renaming.passkeyId}-rename`);
    }
  }

  cancelRename(): void {
    const passkeyId = this.renaming?.passkeyId;
    this.renaming = undefined;
    this.host.update();
    if (passkeyId !== undefined) this.host.focus(`#passkey-${passkeyId}-rename`);
  }

  async remove(passkey: Passkey): Promise<void> {
    const confirmed = await confirmAction({
      title: `Remove the passkey “${passkey.name}”?`,
      message: "It will no longer sign you in. Sessions already open stay open.",
      confirmLabel: "Remove passkey",
    });
    if (!confirmed) return;
    if (await this.#act("passkeys", () => removePasskey(passkey.passkey_id))) {
      this.host.notify(`Passkey “${passkey.name}” removed.`);
      await this.#load("passkeys");
    }
  }

  view() {
    const account = this.account;
    this.#loadFor(account);
    return accountPageView(this, account, {
      signIn: () => this.host.signIn(),
      endOne: (sessionId) => void this.endOne(sessionId),
      endOthers: () => void this.endOthers(),
      passwordInput: (field, value) => {
        this.password[field] = value;
        this.host.update();
      },
      savePassword: () => void this.savePassword(),
      passkeyNameInput: (value) => {
        this.newPasskeyName = value;
        this.host.update();
      },
      addPasskey: () => void this.addPasskey(),
      startRename: (passkey) => this.startRename(passkey),
      renameInput: (value) => {
        if (this.renaming) this.renaming.name = value;
        this.host.update();
      },
      saveRename: () => void this.saveRename(),
      cancelRename: () => this.cancelRename(),
      remove: (passkey) => void this.remove(passkey),
      tokens: this.tokens.handlers,
      dismissProblem: () => {
        this.problem = undefined;
        this.host.update();
      },
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.tokens.dispose();
    this.password = { current: "", next: "", attempted: false };
  }
}
