import type { PeopleService } from "../domain/people.js";
import { sendPage } from "./paging.js";
import type { ModuleHandlers } from "./types.js";

export function peopleHandlers(people: PeopleService): ModuleHandlers<"people"> {
  return {
    async read_all(request, reply) {
      const { limit, cursor } = request.query;
      return sendPage(request, reply, await people.list(limit, cursor), limit);
    },

    async create(request, reply) {
      const person = await people.create(request.body);
      reply.code(201).header("location", `/api/people/${person.person_id}`);
      return person;
    },

    async read_one(request) {
      return people.read(request.params.person_id);
    },

    async update(request) {
      return people.update(request.params.person_id, request.body);
    },

    async delete(request, reply) {
      await people.delete(request.params.person_id);
      reply.code(204);
      return undefined;
    },
  };
}
