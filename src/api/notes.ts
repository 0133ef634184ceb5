import type { NotesService } from "../domain/notes.js";
import { sendPage } from "./paging.js";
import type { ModuleHandlers } from "./types.js";

export function notesHandlers(notes: NotesService): ModuleHandlers<"notes"> {
  return {
    async read_all(request, reply) {
      const { limit, cursor } = request.query;
      return sendPage(request, reply, await notes.list(limit, cursor), limit);
    },

    async read_by_person(request, reply) {
      const { limit, cursor } = request.query;
      return sendPage(request, reply, await notes.listByPerson(request.params.person_id, limit, cursor), limit);
    },

    async create(request, reply) {
      const { person_id } = request.params;
      const note = await notes.create(person_id, request.body.content);
      reply.code(201).header("location", `/api/people/${person_id}/notes/${note.note_id}`);
      return note;
    },

    async read_one(request) {
      return notes.read(request.params.person_id, request.params.note_id);
    },

    async update(request) {
      return notes.update(request.params.person_id, request.params.note_id, request.body.content);
    },

    async delete(request, reply) {
      await notes.delete(request.params.person_id, request.params.note_id);
      reply.code(204);
      return undefined;
    },
  };
}
