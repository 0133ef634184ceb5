import type { Account, AccountState } from "./api.js";
import { fullName } from "./people.js";

/** Where the app stands on who is signed in. */
export type SessionState =
  | { status: "checking" }
  | { status: "known"; session: AccountState }
  /** The server could not say: every control is offered, and the server decides. */
  | { status: "unknown" };

/** Whoever writes: the token sent (it wins over the cookie, as on the server), else the signed-in account. */
export interface Holder {
  kind: Account["kind"];
  /** The token's name, or the account's. */
  name: string;
  person: Account["person"];
  /** Signed in with a token rather than as an account. */
  byToken: boolean;
}

export function holderOf(session: AccountState): Holder | undefined {
  if (session.token) return { ...session.token, byToken: true };
  if (session.account) {
    const { kind, name, person } = session.account;
    return { kind, name, person, byToken: false };
  }
  return undefined;
}

/** How the app names whoever is signed in. */
export function holderName(holder: Holder): string {
  if (holder.person) return fullName(holder.person);
  return holder.kind === "admin" && holder.byToken ? "Admin" : holder.name;
}

/** Signed out: neither a token nor an account, access control as it was. */
export const signedOutState = (session: AccountState): AccountState => ({ ...session, account: null, token: null });
