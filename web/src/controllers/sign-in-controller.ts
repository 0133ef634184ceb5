import { signUp } from "../model/account.js";
import { toApiError } from "../model/api.js";
import { checkFirstName, checkLastName, checkNewPassword } from "../model/limits.js";
import { SignInForm } from "../model/sign-in-form.js";
import { paths } from "../router.js";
import { type SignUpField, signInPageView, signUpPageView } from "../views/account-pages.js";
import type { Host, PageController } from "./page.js";
import type { SessionController } from "./session-controller.js";

/** `/sign-in`: the same ways in as the dialog, as a page of its own; then on to the latest notes. */
export class SignInController implements PageController {
  readonly title = "Sign in";
  readonly form = new SignInForm();

  constructor(
    private readonly host: Host,
    private readonly session: SessionController,
  ) {
    this.form.start(undefined);
  }

  show(): void {}

  view() {
    const handlers = this.session.handlersFor(this.form, "page-", () => this.host.navigate(paths.home()));
    return signInPageView(this.form, handlers, this.session.signedInAs);
  }

  dispose(): void {
    this.form.close();
  }
}

/** `/sign-up`, with `SIGN_UP=open`: a new person and their account, signed in. */
export class SignUpController implements PageController {
  readonly title = "Make an account";
  values: Record<SignUpField, string> = { fname: "", lname: "", password: "" };
  attempted = false;
  busy = false;
  problem: string | undefined;
  #ticket = 0;

  constructor(
    private readonly host: Host,
    private readonly session: SessionController,
  ) {}

  get signedIn() {
    return this.session.signedInAs;
  }

  get errors(): Partial<Record<SignUpField, string>> {
    if (!this.attempted) return {};
    return {
      fname: checkFirstName(this.values.fname),
      lname: checkLastName(this.values.lname),
      password: checkNewPassword(this.values.password),
    };
  }

  show(): void {}

  async submit(): Promise<void> {
    if (this.busy) return;
    this.attempted = true;
    const invalid = (Object.keys(this.errors) as SignUpField[]).find((field) => this.errors[field]);
    if (invalid) {
      this.host.update();
      this.host.focus(`#sign-up-${invalid}`);
      return;
    }
    const ticket = ++this.#ticket;
    this.busy = true;
    this.problem = undefined;
    this.host.update();
    try {
      const state = await signUp(this.values.fname.trim(), this.values.lname.trim(), this.values.password);
      if (ticket !== this.#ticket) return;
      this.values.password = "";
      this.session.signedIn(state, "Welcome! Your account is ready.");
      this.host.navigate(paths.account());
    } catch (error) {
      if (ticket !== this.#ticket) return;
      this.busy = false;
      this.problem = toApiError(error).message;
      this.host.update();
    }
  }

  view() {
    return signUpPageView(this, {
      input: (field, value) => {
        this.values[field] = value;
        this.problem = undefined;
        this.host.update();
      },
      submit: () => void this.submit(),
      dismiss: () => {
        this.problem = undefined;
        this.host.update();
      },
    });
  }

  dispose(): void {
    this.#ticket++;
    this.values.password = "";
  }
}
