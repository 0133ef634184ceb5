import type { ApiError } from "./api.js";

/** Tokens are printable ASCII (`pn_<prefix>_<secret>`); anything else cannot travel in a header. */
function checkToken(value: string): string | undefined {
  const token = value.trim();
  if (token === "") return "Paste your token.";
  if (!/^[\x21-\x7e]+$/.test(token)) return "Paste the token alone: it has no spaces, line breaks or accents.";
  return undefined;
}

/** With a passkey or a password (an account), or by pasting a token (scripts and API users). */
export type SignInMode = "account" | "token";

/**
 * The sign-in form, in the dialog or on the sign-in page: which way in is shown, what was typed,
 * what is wrong with it, and why it opened. Secrets are not kept once it closes.
 */
export class SignInForm {
  open = false;
  mode: SignInMode = "account";
  token = "";
  name = "";
  password = "";
  attempted = false;
  serverError: string | undefined;
  /** The server's refusal of a change, when that is what opened the dialog. */
  reason: string | undefined;
  busy: "password" | "passkey" | "token" | undefined;

  start(reason: string | undefined, mode: SignInMode = "account"): void {
    this.open = true;
    this.reset(mode);
    this.reason = reason;
  }

  /** Shows the other way in, with nothing typed and no error. */
  reset(mode: SignInMode): void {
    this.mode = mode;
    this.token = "";
    this.password = "";
    this.attempted = false;
    this.serverError = undefined;
    this.busy = undefined;
  }

  close(): void {
    this.open = false;
    this.token = "";
    this.password = "";
    this.busy = undefined;
  }

  set(field: "token" | "name" | "password", value: string): void {
    this[field] = value;
    this.serverError = undefined;
  }

  /** The token field's error, or the account form's. */
  get error(): string | undefined {
    return (this.attempted && this.mode === "token" ? checkToken(this.token) : undefined) ?? this.serverError;
  }

  get nameError(): string | undefined {
    return this.attempted && this.mode === "account" && this.name.trim() === "" ? "Enter your name." : undefined;
  }

  get passwordError(): string | undefined {
    return this.attempted && this.mode === "account" && this.password === "" ? "Enter your password." : undefined;
  }

  /** True when what the mode needs may be sent, after marking the form as attempted. */
  validate(): boolean {
    this.attempted = true;
    if (this.mode === "token") return checkToken(this.token) === undefined;
    return this.nameError === undefined && this.passwordError === undefined;
  }

  get input(): string {
    return this.token.trim();
  }

  refused(error: ApiError): void {
    this.serverError = error.message;
  }
}
