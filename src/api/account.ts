import type { FastifyReply, FastifyRequest } from "fastify";
import type { components } from "../../openapi/types.js";
import type { AccountService, Client, LiveSession, StartedSession } from "../domain/accounts.js";
import { ProblemError } from "../domain/errors.js";
import type { PasskeyService, RelyingParty } from "../domain/passkeys.js";
import type { PeopleService } from "../domain/people.js";
import type { Caller, SignedIn } from "../domain/policy.js";
import type { SessionCookie } from "../http/session-cookie.js";
import { callerOf } from "./caller.js";
import type { ModuleHandlers } from "./types.js";

type AccountState = components["schemas"]["AccountState"];
type PersonName = components["schemas"]["PersonName"];

export interface AccountSources {
  accounts: AccountService;
  people: PeopleService;
  cookie: SessionCookie;
  /** Whether writes need a token or a session right now. */
  accessControl: () => Promise<boolean>;
  passkeys: PasskeyService;
  /** Who passkeys are for: PUBLIC_URL's host and origin, else the request's. */
  relyingParty: (request: FastifyRequest) => RelyingParty;
}

export const clientOf = (request: FastifyRequest): Client => ({
  userAgent: request.headers["user-agent"] ?? null,
  address: request.ip ?? null,
});

/** The signed-in account of the request; a token, or no sign-in, has none. */
export function signedInOf(caller: Caller): SignedIn {
  if (caller.kind !== "anonymous" && caller.account) return caller.account;
  if (caller.kind === "anonymous") throw new ProblemError(401, "Unauthorized", "Sign in first");
  throw new ProblemError(403, "Forbidden", "A token stands for no session: sign in with a password for this");
}

/** What `account.read`, `account.sign_in` and `invites.accept` answer. */
export async function accountState(
  sources: AccountSources,
  request: FastifyRequest,
  live: LiveSession | undefined,
): Promise<AccountState> {
  const nameOf = async (personId: number | null): Promise<PersonName | null> => {
    if (personId === null) return null;
    const { value } = await sources.people.read(personId);
    return { person_id: value.person_id, fname: value.fname, lname: value.lname };
  };
  const { principal } = request;
  return {
    access_control: await sources.accessControl(),
    sign_up: sources.accounts.settings.signUp,
    account: live
      ? {
          account_id: live.account.account_id,
          name: live.account.name,
          kind: live.account.kind,
          person: await nameOf(live.account.person_id),
          session_id: live.session.session_id,
          password: live.account.password_hash !== null,
        }
      : null,
    token: principal
      ? {
          kind: principal.kind,
          name: principal.name,
          prefix: principal.prefix,
          person: await nameOf(principal.personId),
        }
      : null,
  };
}

/** Sets the new session's cookie; the request log then names its account. */
export function startSession(
  sources: AccountSources,
  request: FastifyRequest,
  reply: FastifyReply,
  started: StartedSession,
): LiveSession {
  sources.cookie.set(reply, started.secret, started.live.session.expires_at);
  request.signedIn = started.live;
  return started.live;
}

export function accountHandlers(sources: AccountSources): ModuleHandlers<"account"> {
  const { accounts, cookie } = sources;
  return {
    async read(request) {
      return accountState(sources, request, request.signedIn);
    },

    async sign_in(request, reply) {
      const { name, password } = request.body;
      const started = await accounts.signIn(name, password, clientOf(request), cookie.read(request));
      return accountState(sources, request, startSession(sources, request, reply, started));
    },

    async passkey_options(request) {
      const { purpose, code } = request.body;
      const rp = sources.relyingParty(request);
      if (purpose === "sign_in") return sources.passkeys.signInOptions(rp);
      if (code === undefined && request.caller?.kind !== "anonymous" && request.principal) {
        throw new ProblemError(403, "Forbidden", "A token stands for no account: sign in to add a passkey");
      }
      return sources.passkeys.registerOptions(rp, {
        ...(request.signedIn ? { account: request.signedIn.account } : {}),
        ...(code !== undefined ? { inviteCode: code } : {}),
      });
    },

    async passkey_verify(request, reply) {
      const { challenge_id, response, name = "Passkey" } = request.body;
      const rp = sources.relyingParty(request);
      const client = clientOf(request);
      const { started } = await sources.passkeys.verify(challenge_id, response, name, rp, client);
      const live = started ? startSession(sources, request, reply, started) : request.signedIn;
      return accountState(sources, request, live);
    },

    async sign_out(request, reply) {
      const { accountId, sessionId } = signedInOf(callerOf(request));
      await accounts.signOut(accountId, sessionId);
      cookie.clear(reply);
      reply.code(204);
      return undefined;
    },

    async sessions(request) {
      const { accountId, sessionId } = signedInOf(callerOf(request));
      const rows = await accounts.sessions(accountId);
      return rows.map((row) => ({ ...row, current: row.session_id === sessionId }));
    },

    async end_session(request, reply) {
      const { accountId } = signedInOf(callerOf(request));
      const ended = await accounts.endSession(accountId, request.params.session_id);
      if (!ended) {
        throw new ProblemError(404, "Not Found", `Session not found for Id: ${request.params.session_id}`);
      }
      if (request.params.session_id === request.signedIn?.session.session_id) cookie.clear(reply);
      reply.code(204);
      return undefined;
    },

    async passkeys(request) {
      const { accountId } = signedInOf(callerOf(request));
      return sources.passkeys.list(accountId);
    },

    async rename_passkey(request) {
      const { accountId } = signedInOf(callerOf(request));
      return sources.passkeys.rename(accountId, request.params.passkey_id, request.body.name);
    },

    async remove_passkey(request, reply) {
      const { accountId } = signedInOf(callerOf(request));
      await sources.passkeys.remove(accountId, request.params.passkey_id);
      reply.code(204);
      return undefined;
    },

    async change_password(request, reply) {
      const { accountId } = signedInOf(callerOf(request));
      const { current_password, new_password } = request.body;
      const started = await accounts.changePassword(accountId, current_password, new_password, clientOf(request));
      startSession(sources, request, reply, started);
      reply.code(204);
      return undefined;
    },
  };
}
