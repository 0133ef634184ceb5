import { createHash, randomBytes } from "node:crypto";
import {
  type AccountRow,
  anyAdminAccount,
  clearPassword,
  deleteDeadSessionRows,
  deleteSession,
  deleteSessionsExcept,
  findAccount,
  findAccountByNameKey,
  findAccountOfPerson,
  findLiveSession,
  findUsableInvite,
  type InviteRow,
  insertAccount,
  insertInvite,
  insertSession,
  type LiveSession,
  listSessions,
  recordSessionUse,
  type SessionRow,
  setPassword,
  useInvite,
} from "../db/accounts-repository.js";
import type { Executor, UnitOfWork } from "../db/executor.js";
import { nameKey } from "../db/names.js";
import { deletePasskeysOf } from "../db/passkeys-repository.js";
import { findPerson } from "../db/people-repository.js";
import { anyCredential } from "../db/tokens-repository.js";
import { badRequest, conflict, ProblemError, personNotFound } from "./errors.js";
import { checkNewPassword, normalizePassword, PasswordHasher } from "./passwords.js";
import type { PeopleService } from "./people.js";
import { ANONYMOUS, type Caller, mayInvite, permit } from "./policy.js";
import { type AccountSettings, DEFAULT_ACCOUNT_SETTINGS } from "./settings.js";

const DAY_MS = 86_400_000;
/** Last seen is written at most this often per session: a bounded write rate, not one per request. */
export const LAST_SEEN_RESOLUTION_MS = 5 * 60_000;
/** A session's and an invite's secret: 32 random bytes, base64url (43 characters). */
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const INVITE_CODE = /^pi_([A-Za-z0-9_-]{43})$/;

/** Where a session was signed in from: shown in the list of sessions. */
export interface Client {
  userAgent: string | null;
  address: string | null;
}

/** A new session: its secret goes in the cookie and is never stored. */
export interface StartedSession {
  secret: string;
  live: LiveSession;
}

export interface CreatedInvite {
  invite: InviteRow;
  account: AccountRow;
  /** `pi_<secret>`: shown once, only its hash is kept. */
  code: string;
  link: string;
}

export type { LiveSession, SessionRow };

/** The key a name signs in by: as people's names are compared. */
export const accountNameKey = (name: string): string => nameKey(name);

const hashOf = (secret: string) => createHash("sha256").update(secret).digest("hex");
const clip = (text: string | null, max: number) => (text === null ? null : text.slice(0, max));

const wrongCredentials = () => new ProblemError(401, "Unauthorized", "The name or the password is wrong");
const unusableInvite = () =>
  badRequest("This invite is unknown, used already or expired: ask for a new one", [
    { in: "body", pointer: "/code", message: "is unknown, used already or expired" },
  ]);

/**
 * Accounts, sessions and invites. A session is a row known by the hash of its cookie's secret and
 * read on every request that carries the cookie, so ending it (here, or in any other process on the
 * same database) refuses it from the next request on.
 */
export class AccountService {
  readonly hasher: PasswordHasher;

  constructor(
    private readonly store: UnitOfWork,
    private readonly people: PeopleService | undefined,
    readonly settings: AccountSettings = DEFAULT_ACCOUNT_SETTINGS,
    private readonly now: () => Date = () => new Date(),
    hasher = new PasswordHasher(),
  ) {
    this.hasher = hasher;
  }

  /**
   * Whether any token could be used now, or any account can sign in (a password or a passkey): then
   * writes need a token or a session. Asked of the database on every such write, in one statement.
   */
  anyCredential(): Promise<boolean> {
    return anyCredential(this.store, this.now().toISOString());
  }

  /** Whether an admin account exists (set up or waiting for its setup link). */
  anyAdmin(): Promise<boolean> {
    return anyAdminAccount(this.store);
  }

  /**
   * Checks the password; a name with no account, or an account with no password, spends the same
   * time on a hash and gets the same answer as a wrong password.
   */
  async signIn(name: string, password: string, client: Client, previousSecret?: string): Promise<StartedSession> {
    const account = await findAccountByNameKey(this.store, nameKey(name));
    const matches =
      account?.password_hash != null
        ? await this.hasher.verify(password, account.password_hash)
        : await this.hasher.verifyNothing(normalizePassword(password));
    if (!account || !matches) throw wrongCredentials();
    return this.store.transaction(async (tx) => {
      // The id is new at every sign-in: a session id planted before it is worth nothing after.
      if (previousSecret !== undefined) await this.#endBySecret(tx, previousSecret);
      return this.#start(tx, account, client);
    });
  }

  /** The live session a cookie's secret stands for, its last use recorded at most every few minutes. */
  async authenticate(secret: string): Promise<LiveSession | undefined> {
    if (!SECRET.test(secret)) return undefined;
    const now = this.now();
    const live = await findLiveSession(this.store, hashOf(secret), now.toISOString(), this.#idleSince(now));
    if (!live) return undefined;
    const staleBefore = new Date(now.getTime() - LAST_SEEN_RESOLUTION_MS).toISOString();
    if (live.session.last_seen_at < staleBefore) {
      await recordSessionUse(this.store, live.session.session_id, now.toISOString(), staleBefore);
    }
    return live;
  }

  /** Ends the session; true when it was there to end. */
  endSession(accountId: number, sessionId: number): Promise<boolean> {
    return deleteSession(this.store, sessionId, accountId);
  }

  /** The account's live sessions, most recently seen first, each expiring at its idle or absolute end. */
  async sessions(accountId: number): Promise<SessionRow[]> {
    const now = this.now();
    const rows = await listSessions(this.store, accountId, now.toISOString(), this.#idleSince(now));
    return rows.map((row) => ({ ...row, expires_at: this.#endOf(row) }));
  }

  /**
   * Checks the current password, sets the new one, ends every other session of the account, and
   * gives the caller's session a new id. An account with no password (passkeys only) sets its first
   * one without a current password: the signed-in session is what proves it is theirs, as it is
   * for adding a passkey.
   */
  async changePassword(
    accountId: number,
    current: string | undefined,
    next: string,
    client: Client,
  ): Promise<StartedSession> {
    const normalized = checkNewPassword(next, "new_password");
    const live = await this.#accountById(accountId);
    const matches =
      live?.password_hash == null
        ? live !== undefined
        : current !== undefined && (await this.hasher.verify(current, live.password_hash));
    if (!live || !matches) {
      throw new ProblemError(403, "Forbidden", "The current password is wrong", [
        { in: "body", pointer: "/current_password", message: current === undefined ? "is required" : "is wrong" },
      ]);
    }
    const hash = await this.hasher.hash(normalized);
    return this.store.transaction(async (tx) => {
      await setPassword(tx, accountId, hash);
      await deleteSessionsExcept(tx, accountId, 0);
      return this.#start(tx, live, client);
    });
  }

  /**
   * A one-time link for a person: `setup` makes their account (named after them) when they have
   * none; `reset` will replace its password and end its sessions when used.
   */
  async invite(
    caller: Caller,
    personId: number,
    kind: "setup" | "reset",
    days: number,
    base: string,
  ): Promise<CreatedInvite> {
    permit(caller, mayInvite(caller), "admin");
    const person = await findPerson(this.store, personId);
    if (!person) throw personNotFound(personId);
    return this.store.transaction(async (tx) => {
      let account = await findAccountOfPerson(tx, personId);
      if (!account) {
        const name = `${person.fname} ${person.lname}`;
        const made = await insertAccount(tx, {
          name,
          nameKey: nameKey(name),
          kind: "person",
          personId,
          passwordHash: null,
          createdAt: this.now().toISOString(),
        });
        if (made === "taken") throw conflict(`Another account signs in as ${name}`);
        account = made;
      }
      return this.#invite(tx, account, kind, days, base);
    });
  }

  /** An admin account named `name` (for `people-notes admin create`) and its one-time setup link. */
  async createAdmin(name: string, days: number, base: string): Promise<CreatedInvite> {
    return this.store.transaction(async (tx) => {
      const account = await insertAccount(tx, {
        name,
        nameKey: nameKey(name),
        kind: "admin",
        personId: null,
        passwordHash: null,
        createdAt: this.now().toISOString(),
      });
      if (account === "taken") throw conflict(`Another account signs in as ${name}`);
      return this.#invite(tx, account, "setup", days, base);
    });
  }

  /** Uses the invite once: sets the password (a reset ends every session first) and signs in. */
  async accept(code: string, password: string, client: Client): Promise<StartedSession> {
    const normalized = checkNewPassword(password, "password");
    const secret = INVITE_CODE.exec(code)?.[1];
    const hash = await this.hasher.hash(normalized);
    if (secret === undefined) throw unusableInvite();
    return this.store.transaction(async (tx) => {
      const invite = await useInvite(tx, hashOf(secret), this.now().toISOString());
      if (!invite) throw unusableInvite();
      const account = await this.#accountById(invite.account_id, tx);
      if (!account) throw unusableInvite();
      if (invite.kind === "reset") await this.#dropCredentials(tx, account.account_id);
      await setPassword(tx, account.account_id, hash);
      return this.#start(tx, { ...account, password_hash: hash }, client);
    });
  }

  /** `SIGN_UP=open`: a new person and their account, signed in. */
  async signUp(fname: string, lname: string, password: string, client: Client): Promise<StartedSession> {
    if (this.settings.signUp !== "open" || !this.people) {
      throw badRequest("Accounts are made by invitation here: send the invite's `code`", [
        { in: "body", pointer: "/code", message: "is required" },
      ]);
    }
    const normalized = checkNewPassword(password, "password");
    const name = `${fname.trim()} ${lname.trim()}`;
    if (await findAccountByNameKey(this.store, nameKey(name))) throw conflict(`Another account signs in as ${name}`);
    const hash = await this.hasher.hash(normalized);
    const { value: person } = await this.people.create(ANONYMOUS, { fname, lname });
    return this.store.transaction(async (tx) => {
      const account = await insertAccount(tx, {
        name: `${person.fname} ${person.lname}`,
        nameKey: nameKey(`${person.fname} ${person.lname}`),
        kind: "person",
        personId: person.person_id,
        passwordHash: hash,
        createdAt: this.now().toISOString(),
      });
      if (account === "taken") throw conflict(`Another account signs in as ${name}`);
      return this.#start(tx, account, client);
    });
  }

  /** The invite a code stands for and its account, if it is unused and unexpired (not using it). */
  async usableInvite(code: string): Promise<{ account: AccountRow; secretHash: string } | undefined> {
    const secret = INVITE_CODE.exec(code)?.[1];
    if (secret === undefined) return undefined;
    const invite = await findUsableInvite(this.store, hashOf(secret), this.now().toISOString());
    const account = invite && (await findAccount(this.store, invite.account_id));
    return account ? { account, secretHash: hashOf(secret) } : undefined;
  }

  /** The 400 for an invite that is unknown, used or expired. */
  unusableInvite(): ProblemError {
    return unusableInvite();
  }

  /**
   * Uses the invite (by its hash) for the account, inside the caller's transaction: a reset first
   * removes the account's password and passkeys and ends its sessions. Throws the 400 when the
   * invite was used meanwhile or has expired.
   */
  async useInviteFor(tx: Executor, secretHash: string, accountId: number): Promise<AccountRow> {
    const invite = await useInvite(tx, secretHash, this.now().toISOString());
    if (!invite || invite.account_id !== accountId) throw unusableInvite();
    if (invite.kind === "reset") {
      await this.#dropCredentials(tx, accountId);
      await clearPassword(tx, accountId);
    }
    const account = await findAccount(tx, accountId);
    if (!account) throw unusableInvite();
    return account;
  }

  /** A new session for the account, inside the caller's transaction. */
  startSession(tx: Executor, account: AccountRow, client: Client): Promise<StartedSession> {
    return this.#start(tx, account, client);
  }

  /** A reset replaces every way in: passkeys go and every session ends (the password is set anew). */
  async #dropCredentials(tx: Executor, accountId: number): Promise<void> {
    await deletePasskeysOf(tx, accountId);
    await deleteSessionsExcept(tx, accountId, 0);
  }

  /** Sign-out: the session is deleted, so no process takes its cookie again. */
  async signOut(accountId: number, sessionId: number): Promise<void> {
    await deleteSession(this.store, sessionId, accountId);
  }

  #accountById(accountId: number, ex: Executor = this.store): Promise<AccountRow | undefined> {
    return findAccount(ex, accountId);
  }

  async #invite(
    tx: Executor,
    account: AccountRow,
    kind: "setup" | "reset",
    days: number,
    base: string,
  ): Promise<CreatedInvite> {
    const secret = randomBytes(32).toString("base64url");
    const now = this.now();
    const invite = await insertInvite(tx, {
      accountId: account.account_id,
      secretHash: hashOf(secret),
      kind,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + days * DAY_MS).toISOString(),
    });
    const code = `pi_${secret}`;
    // In the fragment: browsers send it to no server, so it stays out of logs and Referer headers.
    const link = `${(this.settings.publicUrl ?? base).replace(/\/+$/, "")}/invite#${code}`;
    return { invite, account, code, link };
  }

  async #start(tx: Executor, account: AccountRow, client: Client): Promise<StartedSession> {
    const now = this.now();
    const secret = randomBytes(32).toString("base64url");
    // Sessions no request can use any more are cleared here, where sessions are made.
    await deleteDeadSessionRows(tx, now.toISOString(), this.#idleSince(now));
    const session = await insertSession(tx, {
      accountId: account.account_id,
      secretHash: hashOf(secret),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.maxDays * DAY_MS).toISOString(),
      userAgent: clip(client.userAgent, 512),
      address: clip(client.address, 64),
    });
    return { secret, live: { session, account } };
  }

  async #endBySecret(tx: Executor, secret: string): Promise<void> {
    if (!SECRET.test(secret)) return;
    const now = this.now();
    const live = await findLiveSession(tx, hashOf(secret), now.toISOString(), this.#idleSince(now));
    if (live) await deleteSession(tx, live.session.session_id, live.account.account_id);
  }

  #idleSince(now: Date): string {
    return new Date(now.getTime() - this.settings.idleDays * DAY_MS).toISOString();
  }

  /** When a session ends unless it is used before: its idle end, never after its absolute one. */
  #endOf(row: SessionRow): string {
    const idleEnd = Date.parse(row.last_seen_at) + this.settings.idleDays * DAY_MS;
    return new Date(Math.min(idleEnd, Date.parse(row.expires_at))).toISOString();
  }

  /** For the session's own answers: when it ends. */
  endOf(row: SessionRow): string {
    return this.#endOf(row);
  }
}
