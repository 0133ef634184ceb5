import type { PeopleService } from "../domain/people.js";
import type { SearchService } from "../domain/search.js";
import { callerOf } from "./caller.js";
import { ifMatchOf, type Preconditions, sendTagged } from "./conditional.js";
import { sendPage } from "./paging.js";
import type { ModuleHandlers } from "./types.js";

export function peopleHandlers(
  people: PeopleService,
  preconditions: Preconditions,
  search: SearchService,
): ModuleHandlers<"people"> {
  return {
    async read_all(request, reply) {
      const { limit, cursor, q } = request.query;
      if (q !== undefined) return sendPage(request, reply, await search.people(q, limit, cursor), limit, { q });
      return sendPage(request, reply, await people.list(limit, cursor), limit);
    },

    async create(request, reply) {
      const person = await people.create(callerOf(request), request.body);
      reply.code(201).header("location", `/api/people/${person.value.person_id}`);
      return sendTagged(request, reply, person);
    },

    async read_one(request, reply) {
      return sendTagged(request, reply, await people.read(request.params.person_id));
    },

    async update(request, reply) {
      const ifMatch = ifMatchOf(request, preconditions);
      const person = await people.update(callerOf(request), request.params.person_id, request.body, ifMatch);
      return sendTagged(request, reply, person);
    },

    async delete(request, reply) {
      await people.delete(callerOf(request), request.params.person_id, ifMatchOf(request, preconditions));
      reply.code(204);
      return undefined;
    },
  };
}
