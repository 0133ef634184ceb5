import { acceptInvite, addPasskey } from "../model/account.js";
import { type AccountState, toApiError } from "../model/api.js";
import { checkNewPassword, checkPasskeyName } from "../model/limits.js";
import { paths } from "../router.js";
import { invitePageView } from "../views/account-pages.js";
import type { Host, PageController } from "./page.js";
import type { SessionController } from "./session-controller.js";

/** An invite code as `invites.create` makes it: `pi_` and 43 base64url characters. */
const CODE = /^pi_[A-Za-z0-9_-]{43}$/;

/**
 * `/invite#pi_…`: the person an invite is for sets a passkey or a password, and is signed in. The
 * code stays in the fragment (no server sees it in a request line) and leaves the address once used.
 */
export class InviteController implements PageController {
  readonly title = "Set up your account";
  code: string | undefined;
  passkeyName = "";
  password = "";
  attempted: "passkey" | "password" | undefined;
  busy: "passkey" | "password" | undefined;
  problem: string | undefined;
  #ticket = 0;

  constructor(
    private readonly host: Host,
    private readonly session: SessionController,
  ) {}

  show(): void {
    const code = decodeURIComponent(window.location.hash.slice(1)).trim();
    this.code = CODE.test(code) ? code : undefined;
  }

  get passkeyNameError(): string | undefined {
    return this.attempted === "passkey" && this.passkeyName.trim() !== ""
      ? checkPasskeyName(this.passkeyName)
      : undefined;
  }

  get passwordError(): string | undefined {
    return this.attempted === "password" ? checkNewPassword(this.password) : undefined;
  }

  async #use(way: "passkey" | "password", code: string): Promise<void> {
    if (this.busy) return;
    this.attempted = way;
    const invalid = way === "passkey" ? this.passkeyNameError : this.passwordError;
    if (invalid) {
      this.host.update();
      this.host.focus(way === "passkey" ? "#invite-passkey-name" : "#invite-password");
      return;
    }
    const ticket = ++this.#ticket;
    this.busy = way;
    this.problem = undefined;
    this.host.update();
    try {
      const state: AccountState =
        way === "passkey"
          ? await addPasskey(this.passkeyName.trim() || "Passkey", code)
          : await acceptInvite(code, this.password);
      if (ticket !== this.#ticket) return;
      this.password = "";
      // The code is used: it leaves the address and the history entry.
      this.host.navigate(paths.account(), { replace: true });
      this.session.signedIn(state, "Your account is ready.");
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.busy = undefined;
      this.problem = toApiError(error).message;
      this.host.update();
    }
  }

  view() {
    return invitePageView(this, {
      input: (field, value) => {
        this[field] = value;
        this.problem = undefined;
        this.host.update();
      },
      passkey: () => this.code && void this.#use("passkey", this.code),
      password: () => this.code && void this.#use("password", this.code),
      dismiss: () => {
        this.problem = undefined;
        this.host.update();
      },
    });
  }

  dispose(): void {
    this.#ticket++;
    this.password = "";
  }
}
