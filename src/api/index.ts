import type { onRequestAsyncHookHandler, RouteHandlerMethod, RouteShorthandOptions } from "fastify";
import type { ExportService } from "../domain/export.js";
import type { NotesService } from "../domain/notes.js";
import type { PeopleService } from "../domain/people.js";
import type { SearchService } from "../domain/search.js";
import type { Preconditions } from "./conditional.js";
import { type EventSources, eventsHandlers } from "./events.js";
import { exportHandlers } from "./export.js";
import { notesHandlers } from "./notes.js";
import { peopleHandlers } from "./people.js";
import { type SessionSources, sessionHandlers } from "./session.js";

export interface Services {
  people: PeopleService;
  notes: NotesService;
  session: SessionSources;
  preconditions: Preconditions;
  events: EventSources;
  export: ExportService;
  search: SearchService;
}

/** The check an operation's declared security asks for, when it declares one. */
export type GuardFor = (operationId: string) => onRequestAsyncHookHandler | undefined;

/**
 * Binds operationIds to handlers as Connexion does: "people.read_all" is read_all in the people
 * module. An operation in the contract without a handler stops the server at start-up. An
 * operation that declares security gets its guard, run as soon as the request arrives.
 */
export function operationResolver(services: Services, guardFor: GuardFor) {
  const modules: Record<string, Record<string, unknown>> = {
    people: peopleHandlers(services.people, services.preconditions, services.search),
    notes: notesHandlers(services.notes, services.preconditions, services.search),
    session: sessionHandlers(services.session),
    events: eventsHandlers(services.events),
    export: exportHandlers(services.export),
  };
  return (operationId: string): RouteShorthandOptions & { handler: RouteHandlerMethod } => {
    const [module = "", name = ""] = operationId.split(".");
    const handler = modules[module]?.[name];
    if (typeof handler !== "function") throw new Error(`No handler for operation ${operationId}`);
    const guard = guardFor(operationId);
    return { handler: handler as RouteHandlerMethod, ...(guard ? { onRequest: guard } : {}) };
  };
}
