import type { ApiError } from "./api.js";

/** Tokens are printable ASCII (`pn_<prefix>_<secret>`); anything else cannot travel in a header. */
function checkToken(value: string): string | undefined {
  const token = value.trim();
  if (token === "") return "Paste your token.";
  if (!/^[\x21-\x7e]+$/.test(token)) return "Paste the token alone: it has no spaces, line breaks or accents.";
  return undefined;
}

/** The sign-in dialog: whether it is open, the pasted token, what is wrong with it, and why it opened. */
export class SignInForm {
  open = false;
  token = "";
  attempted = false;
  serverError: string | undefined;
  /** The server's refusal of a change, when that is what opened the dialog. */
  reason: string | undefined;
  busy = false;

  start(reason: string | undefined): void {
    this.open = true;
    this.token = "";
    this.attempted = false;
    this.serverError = undefined;
    this.reason = reason;
    this.busy = false;
  }

  /** The token is not kept once the dialog is gone. */
  close(): void {
    this.open = false;
    this.token = "";
    this.busy = false;
  }

  set(value: string): void {
    this.token = value;
    this.serverError = undefined;
  }

  get error(): string | undefined {
    return (this.attempted ? checkToken(this.token) : undefined) ?? this.serverError;
  }

  /** True when the token may be sent, after marking the form as attempted. */
  validate(): boolean {
    this.attempted = true;
    return this.error === undefined;
  }

  get input(): string {
    return this.token.trim();
  }

  refused(error: ApiError): void {
    this.serverError = error.message;
  }
}
