import type { TrashService } from "../domain/trash.js";
import { callerOf } from "./caller.js";
import { sendPage } from "./paging.js";
import type { ModuleHandlers } from "./types.js";

export function trashHandlers(trash: TrashService): ModuleHandlers<"trash"> {
  return {
    async read_all(request, reply) {
      const { limit, cursor } = request.query;
      return sendPage(request, reply, await trash.list(callerOf(request), limit, cursor), limit);
    },

    async restore(request) {
      return trash.restore(callerOf(request), request.params.trash_id);
    },

    async purge(request, reply) {
      await trash.purge(callerOf(request), request.params.trash_id);
      reply.code(204);
      return undefined;
    },
  };
}
