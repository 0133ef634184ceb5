import { type Access, accessOf, type PersonRef } from "../model/access.js";
import { readAccount, signInWithPasskey, signInWithPassword, signOut } from "../model/account.js";
import { type AccountState, ApiError, toApiError } from "../model/api.js";
import { holderName, holderOf, type SessionState, signedOutState } from "../model/session.js";
import { SignInForm, type SignInMode } from "../model/sign-in-form.js";
import { currentToken, forgetToken, keepToken } from "../model/token.js";
import type { SignedInAs } from "../views/account-pages.js";
import { type AccountBar, accountView, type SignInHandlers, signInDialogView } from "../views/session-view.js";
import type { Host } from "./page.js";

/** The navigation bar's Sign in or Sign out button. */
const ACCOUNT_CONTROL = "#account-control";

/** The ids of a sign-in form's fields: the dialog's, or the sign-in page's (`page-…`). */
export const signInIds = (prefix: string) => ({
  token: `${prefix}sign-in-token`,
  name: `${prefix}sign-in-name`,
  password: `${prefix}sign-in-password`,
  passkey: `${prefix}sign-in-passkey`,
});

/**
 * Who is signed in, for every page: a session (the cookie, signed in with a passkey or a password)
 * or a token kept for this tab; the sign-in dialog; and what the pages may offer.
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

  /** The state the server last gave, when it gave one. */
  get known(): AccountState | undefined {
    return this.state.status === "known" ? this.state.session : undefined;
  }

  /** For the sign-in and sign-up pages. */
  get signedInAs(): SignedInAs {
    return { checking: this.state.status === "checking", bar: this.bar, signUp: this.known?.sign_up };
  }

  get bar(): AccountBar {
    if (this.state.status === "unknown") return { status: "signed-out" };
    if (this.state.status === "checking") return { status: "none" };
    const { session } = this.state;
    const holder = holderOf(session);
    if (holder) {
      return {
        status: "signed-in",
        name: holderName(holder),
        person: holder.person ?? undefined,
        account: !holder.byToken,
      };
    }
    // With access control off there is nothing to sign in for.
    return session.access_control ? { status: "signed-out" } : { status: "none" };
  }

  /** Asks who this tab stands for; a kept token refused meanwhile is forgotten. */
  async start(): Promise<void> {
    const ticket = ++this.#loadTicket;
    try {
      const session = await readAccount();
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

  /** `reason`: the server's refusal that calls for a sign-in; `continueAt`: where focus goes once signed in. */
  openSignIn(reason?: string, continueAt?: string, mode: SignInMode = "account"): void {
    this.#signInTicket++;
    this.#continueAt = continueAt;
    this.form.start(reason, mode);
    this.host.update();
  }

  /** Signed in by a page of the app (an invite, sign-up, the sign-in page): no token is kept beside the session. */
  signedIn(session: AccountState, message?: string): void {
    forgetToken();
    this.#loadTicket++;
    this.state = { status: "known", session };
    this.host.update();
    const holder = holderOf(session);
    if (holder) this.host.notify(message ?? `Signed in as ${holderName(holder)}.`);
  }

  /** The handlers of a sign-in form: the dialog's, or the sign-in page's with its own form and ids. */
  handlersFor(form: SignInForm, prefix: string, done: () => void): SignInHandlers {
    const ids = signInIds(prefix);
    return {
      input: (field, value) => {
        form.set(field, value);
        this.host.update();
      },
      mode: (mode) => {
        form.reset(mode);
        this.host.update();
        this.host.focus(`#${mode === "token" ? ids.token : ids.passkey}`);
      },
      submit: () => void this.#submit(form, ids, done),
      passkey: () => void this.#passkey(form, ids, done),
      closed: () => this.closed(),
    };
  }

  async #submit(form: SignInForm, ids: ReturnType<typeof signInIds>, done: () => void): Promise<void> {
    const { host } = this;
    if (form.busy) return;
    if (!form.validate()) {
      host.update();
      host.focus(form.mode === "token" ? `#${ids.token}` : [form.nameError ? `#${ids.name}` : `#${ids.password}`]);
      return;
    }
    const ticket = ++this.#signInTicket;
    const mode = form.mode;
    form.busy = mode === "token" ? "token" : "password";
    host.update();
    try {
      let session: AccountState;
      if (mode === "token") {
        const token = form.input;
        session = await readAccount(token);
        if (!session.token) throw new ApiError("The server did not take this as a token.", undefined);
        if (ticket !== this.#signInTicket) return;
        keepToken(token);
        this.#loadTicket++;
        this.state = { status: "known", session };
        const holder = holderOf(session);
        if (holder) host.notify(`Signed in as ${holderName(holder)}.`);
      } else {
        session = await signInWithPassword(form.name.trim(), form.password);
        if (ticket !== this.#signInTicket) return;
        this.signedIn(session);
      }
      form.close();
      done();
    } catch (error) {
      if (ticket !== this.#signInTicket) return;
      form.busy = undefined;
      form.refused(toApiError(error));
      host.update();
      host.focus(`#${mode === "token" ? ids.token : ids.password}`);
    }
  }

  async #passkey(form: SignInForm, ids: ReturnType<typeof signInIds>, done: () => void): Promise<void> {
    if (form.busy) return;
    const ticket = ++this.#signInTicket;
    form.busy = "passkey";
    form.serverError = undefined;
    this.host.update();
    try {
      const session = await signInWithPasskey();
      if (ticket !== this.#signInTicket) return;
      this.signedIn(session);
      form.close();
      done();
    } catch (error) {
      if (ticket !== this.#signInTicket) return;
      form.busy = undefined;
      form.refused(toApiError(error));
      this.host.update();
      this.host.focus(`#${ids.passkey}`);
    }
  }

  /** The dialog signed in: focus goes where the user was about to act. */
  #dialogDone = () => {
    this.host.update();
    this.host.focus([...(this.#continueAt ? [this.#continueAt] : []), ACCOUNT_CONTROL], { ifLost: true });
  };

  /** Escape, Cancel, or the dialog closing after signing in. */
  closed(): void {
    if (!this.form.open) return;
    this.#signInTicket++;
    this.form.close();
    this.host.update();
    this.host.focus(ACCOUNT_CONTROL, { ifLost: true });
  }

  /** Forgets the token; ends the session, when there is one, on the server too. */
  async signOut(): Promise<void> {
    forgetToken();
    const session = this.known;
    this.#loadTicket++;
    if (session?.account) {
      try {
        await signOut();
      } catch (error) {
        // Already over on the server (401) is signed out as well.
        const problem = toApiError(error);
        if (problem.status !== 401) {
          this.host.notify(`Not signed out: ${problem.message}`);
          return;
        }
      }
    }
    if (session) this.state = { status: "known", session: signedOutState(session) };
    this.host.update();
    this.host.notify("Signed out.");
    this.host.focus(ACCOUNT_CONTROL);
  }

  /** A change was refused for want of a usable sign-in (revoked, ended, expired, or none): ask again. */
  unauthorized(error: ApiError, continueAt: string): void {
    const byToken = currentToken() !== undefined;
    forgetToken();
    this.#loadTicket++;
    const session = this.known ?? { access_control: true, sign_up: "invite", account: null, token: null };
    this.state = { status: "known", session: signedOutState({ ...session, access_control: true }) };
    this.openSignIn(error.message, continueAt, byToken ? "token" : "account");
  }

  /** A person's names changed (here or elsewhere): when the sign-in stands for them, the new ones show. */
  renamed(person: PersonRef): void {
    const session = this.known;
    if (!session) return;
    const { person_id, fname, lname } = person;
    const rename = <T extends { person: PersonRef | null }>(holder: T | null): T | null => {
      if (holder?.person?.person_id !== person_id) return holder;
      if (holder.person.fname === fname && holder.person.lname === lname) return holder;
      return { ...holder, person: { person_id, fname, lname } };
    };
    const account = rename(session.account);
    const token = rename(session.token);
    if (account === session.account && token === session.token) return;
    this.state = { status: "known", session: { ...session, account, token } };
    this.host.update();
  }

  accountView() {
    return accountView(this.bar, {
      signIn: () => this.openSignIn(),
      signOut: () => void this.signOut(),
    });
  }

  dialogView() {
    return signInDialogView(this.form, this.handlersFor(this.form, "", this.#dialogDone), this.known?.sign_up);
  }
}
