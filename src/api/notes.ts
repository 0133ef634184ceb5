import type { NotesService } from "../domain/notes.js";
import type { SearchService } from "../domain/search.js";
import { callerOf } from "./caller.js";
import { ifMatchOf, type Preconditions, sendTagged } from "./conditional.js";
import { sendPage } from "./paging.js";
import type { ModuleHandlers } from "./types.js";

export function notesHandlers(
  notes: NotesService,
  preconditions: Preconditions,
  search: SearchService,
): ModuleHandlers<"notes"> {
  return {
    async read_all(request, reply) {
      const { limit, cursor, q } = request.query;
      if (q !== undefined) return sendPage(request, reply, await search.notes(q, limit, cursor), limit, { q });
      return sendPage(request, reply, await notes.list(limit, cursor), limit);
    },

    async read_by_person(request, reply) {
      const { limit, cursor } = request.query;
      return sendPage(request, reply, await notes.listByPerson(request.params.person_id, limit, cursor), limit);
    },

    async create(request, reply) {
      const { person_id } = request.params;
      const note = await notes.create(callerOf(request), person_id, request.body.content);
      reply.code(201).header("location", `/api/people/${person_id}/notes/${note.value.note_id}`);
      return sendTagged(request, reply, note);
    },

    async read_one(request, reply) {
      return sendTagged(request, reply, await notes.read(request.params.person_id, request.params.note_id));
    },

    async update(request, reply) {
      const { person_id, note_id } = request.params;
      const ifMatch = ifMatchOf(request, preconditions);
      const note = await notes.update(callerOf(request), person_id, note_id, request.body.content, ifMatch);
      return sendTagged(request, reply, note);
    },

    async revisions(request, reply) {
      const { person_id, note_id } = request.params;
      const { limit, cursor } = request.query;
      const page = await notes.revisions(callerOf(request), person_id, note_id, limit, cursor);
      return sendPage(request, reply, page, limit);
    },

    async revision(request) {
      const { person_id, note_id, version } = request.params;
      return notes.revision(callerOf(request), person_id, note_id, version);
    },

    async restore_revision(request, reply) {
      const { person_id, note_id, version } = request.params;
      const ifMatch = ifMatchOf(request, preconditions);
      return sendTagged(request, reply, await notes.restore(callerOf(request), person_id, note_id, version, ifMatch));
    },

    async delete(request, reply) {
      const ifMatch = ifMatchOf(request, preconditions);
      await notes.delete(callerOf(request), request.params.person_id, request.params.note_id, ifMatch);
      reply.code(204);
      return undefined;
    },
  };
}
