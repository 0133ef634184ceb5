import { holderOf, type SessionState } from "./session.js";

export interface PersonRef {
  person_id: number;
  fname: string;
  lname: string;
}

/**
 * What the signed-in user may change, as the contract's roles say: an admin token or account everything, a
 * person's token or account its own person's names and notes, and anyone everything while access control is
 * off. The app offers no control for anything else; the server would refuse it with 401 or 403.
 */
export interface Access {
  /** The server has not said yet who is signed in: nothing is offered meanwhile. */
  readonly checking: boolean;
  /** Writes need a token and none is signed in. */
  readonly signedOut: boolean;
  /** The person a person token writes for. */
  readonly person: PersonRef | undefined;
  readonly mayAddPeople: boolean;
  readonly mayDeletePeople: boolean;
  /** Making invites (an account's setup or reset link) and managing tokens for people: admins only. */
  readonly mayInvite: boolean;
  /** Registering and changing webhooks, which are sent every change: admins (anyone while access control is off). */
  readonly mayManageWebhooks: boolean;
  /** Changing the person's names, and writing, editing and deleting their notes. */
  mayChangePerson(personId: number): boolean;
}

export function accessOf(state: SessionState): Access {
  const session = state.status === "known" ? state.session : undefined;
  const holder = session ? holderOf(session) : undefined;
  const admin = holder?.kind === "admin";
  const everything = state.status === "unknown" || session?.access_control === false || admin;
  const person = holder?.kind === "person" ? (holder.person ?? undefined) : undefined;
  return {
    checking: state.status === "checking",
    signedOut: session?.access_control === true && holder === undefined,
    person,
    mayAddPeople: everything,
    mayDeletePeople: everything,
    mayInvite: admin,
    mayManageWebhooks: everything,
    mayChangePerson: (personId) => everything || person?.person_id === personId,
  };
}
