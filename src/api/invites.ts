import type { AccountService } from "../domain/accounts.js";
import { type AccountSources, accountState, clientOf, startSession } from "./account.js";
import { callerOf } from "./caller.js";
import type { ModuleHandlers } from "./types.js";

export function invitesHandlers(sources: AccountSources & { accounts: AccountService }): ModuleHandlers<"invites"> {
  const { accounts } = sources;
  return {
    async create(request, reply) {
      const { person_id, kind = "setup", expires_in_days = 7 } = request.body;
      const base = `${request.protocol}://${request.host}`;
      const created = await accounts.invite(callerOf(request), person_id, kind, expires_in_days, base);
      reply.code(201);
      return {
        invite_id: created.invite.invite_id,
        kind: created.invite.kind,
        person_id: created.account.person_id,
        account_name: created.account.name,
        expires_at: created.invite.expires_at,
        code: created.code,
        link: created.link,
      };
    },

    async accept(request, reply) {
      const { code, password, fname, lname } = request.body;
      const started =
        code === undefined && fname !== undefined && lname !== undefined
          ? await accounts.signUp(fname, lname, password, clientOf(request))
          : await accounts.accept(code ?? "", password, clientOf(request));
      return accountState(sources, request, startSession(sources, request, reply, started));
    },
  };
}
