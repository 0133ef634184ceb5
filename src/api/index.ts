import type { RouteHandlerMethod } from "fastify";
import type { NotesService } from "../domain/notes.js";
import type { PeopleService } from "../domain/people.js";
import { notesHandlers } from "./notes.js";
import { peopleHandlers } from "./people.js";

export interface Services {
  people: PeopleService;
  notes: NotesService;
}

/**
 * Binds operationIds to handlers as Connexion does: "people.read_all" is read_all in the people
 * module. An operation in the contract without a handler stops the server at start-up.
 */
export function operationResolver(services: Services) {
  const modules: Record<string, Record<string, unknown>> = {
    people: peopleHandlers(services.people),
    notes: notesHandlers(services.notes),
  };
  return (operationId: string): RouteHandlerMethod => {
    const [module = "", name = ""] = operationId.split(".");
    const handler = modules[module]?.[name];
    if (typeof handler !== "function") throw new Error(`No handler for operation ${operationId}`);
    return handler as RouteHandlerMethod;
  };
}
