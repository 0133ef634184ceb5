import type { TokenRow, TokenService } from "../domain/tokens.js";
import { callerOf } from "./caller.js";
import type { ModuleHandlers } from "./types.js";

const shown = (row: TokenRow) => ({
  token_id: row.token_id,
  prefix: row.prefix,
  name: row.name,
  kind: row.kind,
  person_id: row.person_id,
  created_at: row.created_at,
  last_used_at: row.last_used_at,
  expires_at: row.expires_at,
  revoked_at: row.revoked_at,
});

export function tokensHandlers(tokens: TokenService): ModuleHandlers<"tokens"> {
  return {
    async read_all(request) {
      return (await tokens.listFor(callerOf(request))).map(shown);
    },

    async create(request, reply) {
      const created = await tokens.createFor(callerOf(request), request.body);
      reply.code(201).header("cache-control", "no-store");
      return { ...shown(created.row), token: created.token };
    },

    async delete(request, reply) {
      await tokens.revokeFor(callerOf(request), request.params.token_id);
      reply.code(204);
      return undefined;
    },
  };
}
