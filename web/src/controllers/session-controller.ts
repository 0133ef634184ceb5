import { type Access, accessOf, type PersonRef } from "../model/access.js";
import { ApiError, toApiError } from "../model/api.js";
import { principalName, readSession, type SessionState } from "../model/session.js";
import { SignInForm } from "../model/sign-in-form.js";
import { currentToken, forgetToken, keepToken } from "../model/token.js";
import { type Account, accountView, signInDialogView } from "../views/session-view.js";
import type { Host } from "./page.js";

/** The navigation bar's Sign in or Sign out button. */
const ACCOUNT_CONTROL = "#account-control";
const TOKEN_FIELD = "#sign-in-token";

/**
 * Who is signed in, for every page: the token kept for this tab, the sign-in dialog, and what the
 * pages may offer. Signing in asks the server who the token stands for before keeping it.
 */
export class SessionController {
  state: SessionState = { status: "checking" };
  readonly form = new SignInForm();
  #loadTicket = 0;
  #signInTicket = 0;
  #continueAt: string | undefined;

  constructor(private readonly host: Pick<Host, "update" | "focus" | "notify">) {}

  get access(): Access {
    return accessOf(this.state);
  }

  get account(): Account {
    if (this.state.status === "unknown") return { status: "signed-out" };
    if (this.state.status === "checking") return { status: "none" };
    const { access_control, principal } = this.state.session;
    if (principal)
      return { status: "signed-in", name: principalName(principal), person: principal.person ?? undefined };
    // With access control off there is no token to sign in with.
    return access_control ? { status: "signed-out" } : { status: "none" };
  }

  /** Asks who the token kept in this tab stands for; one refused meanwhile is forgotten. */
  async start(): Promise<void> {
    const ticket = ++this.#loadTicket;
    try {
      const session = await readSession();
      if (ticket !== this.#loadTicket) return;
      this.state = { status: "known", session };
    } catch (error) {
      if (ticket !== this.#loadTicket) return;
      const problem = toApiError(error);
      if (problem.status === 401 && currentToken() !== undefined) {
        forgetToken();
        this.host.notify(`Signed out: ${problem.message}`);
        await this.start();
        return;
      }
      this.state = { status: "unknown" };
    }
    this.host.update();
  }

  /** `reason`: the server's refusal that calls for a token; `continueAt`: where focus goes once signed in. */
  openSignIn(reason?: string, continueAt?: string): void {
    this.#signInTicket++;
    this.#continueAt = continueAt;
    this.form.start(reason);
    this.host.update();
  }

  async submit(): Promise<void> {
    const { form, host } = this;
    if (form.busy) return;
    if (!form.validate()) {
      host.update();
      host.focus(TOKEN_FIELD);
      return;
    }
    const ticket = ++this.#signInTicket;
    const token = form.input;
    form.busy = true;
    host.update();
    try {
      const session = await readSession(token);
      if (ticket !== this.#signInTicket) return;
      if (!session.principal) throw new ApiError("The server did not take this as a token.", undefined);
      keepToken(token);
      this.#loadTicket++;
      this.state = { status: "known", session };
      form.close();
      host.update();
      host.notify(`Signed in as ${principalName(session.principal)}.`);
      host.focus([...(this.#continueAt ? [this.#continueAt] : []), ACCOUNT_CONTROL], { ifLost: true });
    } catch (error) {
      if (ticket !== this.#signInTicket) return;
      form.busy = false;
      form.refused(toApiError(error));
      host.update();
      host.focus(TOKEN_FIELD);
    }
  }

  /** Escape, Cancel, or the dialog closing after signing in. */
  closed(): void {
    if (!this.form.open) return;
    this.#signInTicket++;
    this.form.close();
    this.host.update();
    this.host.focus(ACCOUNT_CONTROL, { ifLost: true });
  }

  signOut(): void {
    forgetToken();
    if (this.state.status === "known") {
      this.state = { status: "known", session: { ...this.state.session, principal: null } };
    }
    this.host.update();
    this.host.notify("Signed out.");
    this.host.focus(ACCOUNT_CONTROL);
  }

  /** A change was refused for want of a usable token (revoked, expired, or none): sign out and ask. */
  unauthorized(error: ApiError, continueAt: string): void {
    forgetToken();
    this.#loadTicket++;
    this.state = { status: "known", session: { access_control: true, principal: null } };
    this.openSignIn(error.message, continueAt);
  }

  /** A person's names changed (here or elsewhere): when the token stands for them, the new ones show. */
  renamed(person: PersonRef): void {
    if (this.state.status !== "known") return;
    const { session } = this.state;
    const principal = session.principal;
    if (principal?.person?.person_id !== person.person_id) return;
    const { person_id, fname, lname } = person;
    if (principal.person.fname === fname && principal.person.lname === lname) return;
    this.state = {
      status: "known",
      session: { ...session, principal: { ...principal, person: { person_id, fname, lname } } },
    };
    this.host.update();
  }

  accountView() {
    return accountView(this.account, {
      signIn: () => this.openSignIn(),
      signOut: () => this.signOut(),
    });
  }

  dialogView() {
    return signInDialogView(this.form, {
      input: (value) => {
        this.form.set(value);
        this.host.update();
      },
      submit: () => void this.submit(),
      closed: () => this.closed(),
    });
  }
}
