import { ConstraintViolation } from "./errors.js";
import { affected, type Executor, prepareQuery } from "./executor.js";
import type { AccountSessionTable, AccountTable, InviteTable } from "./schema.js";

export type AccountRow = Omit<AccountTable, "account_id"> & { account_id: number };
export type SessionRow = Omit<AccountSessionTable, "session_id" | "secret_hash"> & { session_id: number };
export type InviteRow = Omit<InviteTable, "invite_id" | "secret_hash"> & { invite_id: number };

/** A session that is still alive, with its account. */
export interface LiveSession {
  session: SessionRow;
  account: AccountRow;
}

export interface NewAccount {
  name: string;
  nameKey: string;
  kind: AccountTable["kind"];
  personId: number | null;
  passwordHash: string | null;
  createdAt: string;
}

export interface NewSession {
  accountId: number;
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  userAgent: string | null;
  address: string | null;
}

export interface NewInvite {
  accountId: number;
  secretHash: string;
  kind: InviteTable["kind"];
  createdAt: string;
  expiresAt: string;
}

/** Another account answers to the name, or the person has an account already. */
export type AccountTaken = "taken";

const accountColumns = ["account_id", "name", "name_key", "kind", "person_id", "password_hash", "created_at"] as const;
const sessionColumns = [
  "session_id",
  "account_id",
  "created_at",
  "last_seen_at",
  "expires_at",
  "user_agent",
  "address",
] as const;
const inviteColumns = ["invite_id", "account_id", "kind", "created_at", "expires_at", "used_at"] as const;

const insertAccountQuery = prepareQuery(
  (
    db,
    name: string,
    nameKey: string,
    kind: AccountTable["kind"],
    personId: number | null,
    passwordHash: string | null,
    createdAt: string,
  ) =>
    db
      .insertInto("account")
      .values({
        name,
        name_key: nameKey,
        kind,
        person_id: personId,
        password_hash: passwordHash,
        created_at: createdAt,
      })
      .returning(accountColumns),
);
const accountByNameKey = prepareQuery((db, nameKey: string) =>
  db.selectFrom("account").select(accountColumns).where("name_key", "=", nameKey),
);
const accountById = prepareQuery((db, accountId: number) =>
  db.selectFrom("account").select(accountColumns).where("account_id", "=", accountId),
);
/**
 * The account, its row locked until the transaction ends (PostgreSQL); SQLite runs one
 * transaction at a time, so the plain read is as safe there.
 */
const lockedAccount = prepareQuery({
  sqlite: (db, accountId: number) =>
    db.selectFrom("account").select(accountColumns).where("account_id", "=", accountId),
  postgres: (db, accountId: number) =>
    db.selectFrom("account").select(accountColumns).where("account_id", "=", accountId).forUpdate(),
});
const accountOfPerson = prepareQuery((db, personId: number) =>
  db.selectFrom("account").select(accountColumns).where("person_id", "=", personId),
);
const setPasswordQuery = prepareQuery((db, accountId: number, passwordHash: string) =>
  db.updateTable("account").set({ password_hash: passwordHash }).where("account_id", "=", accountId),
);
const anyAdmin = prepareQuery((db) =>
  db.selectFrom("account").select("account_id").where("kind", "=", "admin").limit(1),
);

const insertSessionQuery = prepareQuery(
  (
    db,
    accountId: number,
    secretHash: string,
    createdAt: string,
    expiresAt: string,
    userAgent: string | null,
    address: string | null,
  ) =>
    db
      .insertInto("account_session")
      .values({
        account_id: accountId,
        secret_hash: secretHash,
        created_at: createdAt,
        last_seen_at: createdAt,
        expires_at: expiresAt,
        user_agent: userAgent,
        address,
      })
      .returning(sessionColumns),
);
/** A session by its secret's hash, unless it has passed its absolute expiry or been idle too long. */
const liveSession = prepareQuery((db, secretHash: string, now: string, idleSince: string) =>
  db
    .selectFrom("account_session as s")
    .innerJoin("account as a", "a.account_id", "s.account_id")
    .select([
      "s.session_id",
      "s.account_id",
      "s.created_at",
      "s.last_seen_at",
      "s.expires_at",
      "s.user_agent",
      "s.address",
      "a.name",
      "a.name_key",
      "a.kind",
      "a.person_id",
      "a.password_hash",
      "a.created_at as account_created_at",
    ])
    .where("s.secret_hash", "=", secretHash)
    .where("s.expires_at", ">", now)
    .where("s.last_seen_at", ">", idleSince),
);
/** At most one write per session every few minutes: last seen is for people, not accounting. */
const touchSession = prepareQuery((db, sessionId: number, now: string, staleBefore: string) =>
  db
    .updateTable("account_session")
    .set({ last_seen_at: now })
    .where("session_id", "=", sessionId)
    .where("last_seen_at", "<", staleBefore),
);
const sessionsOf = prepareQuery((db, accountId: number, now: string, idleSince: string) =>
  db
    .selectFrom("account_session")
    .select(sessionColumns)
    .where("account_id", "=", accountId)
    .where("expires_at", ">", now)
    .where("last_seen_at", ">", idleSince)
    .orderBy("last_seen_at", "desc")
    .orderBy("session_id", "desc"),
);
const deleteSessionQuery = prepareQuery((db, sessionId: number, accountId: number) =>
  db.deleteFrom("account_session").where("session_id", "=", sessionId).where("account_id", "=", accountId),
);
const deleteOtherSessions = prepareQuery((db, accountId: number, keepSessionId: number) =>
  db.deleteFrom("account_session").where("account_id", "=", accountId).where("session_id", "!=", keepSessionId),
);
const deleteDeadSessions = prepareQuery((db, now: string, idleSince: string) =>
  db
    .deleteFrom("account_session")
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb("last_seen_at", "<=", idleSince)])),
);

const insertInviteQuery = prepareQuery(
  (db, accountId: number, secretHash: string, kind: InviteTable["kind"], createdAt: string, expiresAt: string) =>
    db
      .insertInto("invite")
      .values({ account_id: accountId, secret_hash: secretHash, kind, created_at: createdAt, expires_at: expiresAt })
      .returning(inviteColumns),
);
const usableInviteQuery = prepareQuery((db, secretHash: string, now: string) =>
  db
    .selectFrom("invite")
    .select(inviteColumns)
    .where("secret_hash", "=", secretHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", now),
);
const clearPasswordQuery = prepareQuery((db, accountId: number) =>
  db.updateTable("account").set({ password_hash: null }).where("account_id", "=", accountId),
);

/** Marks the invite used, if it is unused and unexpired: of two racing uses exactly one gets the row. */
const useInviteQuery = prepareQuery((db, secretHash: string, now: string) =>
  db
    .updateTable("invite")
    .set({ used_at: now })
    .where("secret_hash", "=", secretHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .returning(inviteColumns),
);

export async function insertAccount(ex: Executor, account: NewAccount): Promise<AccountRow | AccountTaken> {
  try {
    const row = await insertAccountQuery.first(
      ex,
      account.name,
      account.nameKey,
      account.kind,
      account.personId,
      account.passwordHash,
      account.createdAt,
    );
    if (row === undefined) throw new Error("the insert returned no row");
    return row;
  } catch (error) {
    if (error instanceof ConstraintViolation && error.kind === "unique") return "taken";
    throw error;
  }
}

export const findAccountByNameKey = (ex: Executor, nameKey: string): Promise<AccountRow | undefined> =>
  accountByNameKey.first(ex, nameKey);
export const findAccount = (ex: Executor, accountId: number): Promise<AccountRow | undefined> =>
  accountById.first(ex, accountId);
/** Inside a transaction: the account, held against changes to it and its credentials until it ends. */
export const lockAccount = (tx: Executor, accountId: number): Promise<AccountRow | undefined> =>
  lockedAccount.first(tx, accountId);
export const findAccountOfPerson = (ex: Executor, personId: number): Promise<AccountRow | undefined> =>
  accountOfPerson.first(ex, personId);

export async function setPassword(ex: Executor, accountId: number, passwordHash: string): Promise<void> {
  await setPasswordQuery.run(ex, accountId, passwordHash);
}

/** Whether any admin account exists, set up or waiting for its setup link. */
export async function anyAdminAccount(ex: Executor): Promise<boolean> {
  return (await anyAdmin.first(ex)) !== undefined;
}

export async function insertSession(ex: Executor, session: NewSession): Promise<SessionRow> {
  const row = await insertSessionQuery.first(
    ex,
    session.accountId,
    session.secretHash,
    session.createdAt,
    session.expiresAt,
    session.userAgent,
    session.address,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row;
}

export async function findLiveSession(
  ex: Executor,
  secretHash: string,
  now: string,
  idleSince: string,
): Promise<LiveSession | undefined> {
  const row = await liveSession.first(ex, secretHash, now, idleSince);
  if (!row) return undefined;
  return {
    session: {
      session_id: row.session_id,
      account_id: row.account_id,
      created_at: row.created_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
      user_agent: row.user_agent,
      address: row.address,
    },
    account: {
      account_id: row.account_id,
      name: row.name,
      name_key: row.name_key,
      kind: row.kind,
      person_id: row.person_id,
      password_hash: row.password_hash,
      created_at: row.account_created_at,
    },
  };
}

export async function recordSessionUse(ex: Executor, sessionId: number, now: string, staleBefore: string) {
  await touchSession.run(ex, sessionId, now, staleBefore);
}

export async function listSessions(ex: Executor, accountId: number, now: string, idleSince: string) {
  return (await sessionsOf.run(ex, accountId, now, idleSince)).rows;
}

/** False when the account has no such session. */
export async function deleteSession(ex: Executor, sessionId: number, accountId: number): Promise<boolean> {
  return affected(await deleteSessionQuery.run(ex, sessionId, accountId)) > 0;
}

/** Ends every session of the account but one (`0`: every one). */
export async function deleteSessionsExcept(ex: Executor, accountId: number, keepSessionId: number): Promise<number> {
  return affected(await deleteOtherSessions.run(ex, accountId, keepSessionId));
}

/** Removes sessions past their absolute or idle expiry, which no request can use any more. */
export async function deleteDeadSessionRows(ex: Executor, now: string, idleSince: string): Promise<number> {
  return affected(await deleteDeadSessions.run(ex, now, idleSince));
}

export async function insertInvite(ex: Executor, invite: NewInvite): Promise<InviteRow> {
  const row = await insertInviteQuery.first(
    ex,
    invite.accountId,
    invite.secretHash,
    invite.kind,
    invite.createdAt,
    invite.expiresAt,
  );
  if (row === undefined) throw new Error("the insert returned no row");
  return row;
}

/** The invite, if it is unused and unexpired, without using it. */
export function findUsableInvite(ex: Executor, secretHash: string, now: string): Promise<InviteRow | undefined> {
  return usableInviteQuery.first(ex, secretHash, now);
}

/** The account can no longer sign in with a password. */
export async function clearPassword(ex: Executor, accountId: number): Promise<void> {
  await clearPasswordQuery.run(ex, accountId);
}

/** The invite, now marked used; undefined when it is unknown, used already or expired. */
export function useInvite(ex: Executor, secretHash: string, now: string): Promise<InviteRow | undefined> {
  return useInviteQuery.first(ex, secretHash, now);
}
