import type { RouteHandlerMethod, RouteShorthandOptions } from "fastify";
import type { ExportService } from "../domain/export.js";
import type { NotesService } from "../domain/notes.js";
import type { PeopleService } from "../domain/people.js";
import type { SearchService } from "../domain/search.js";
import type { TokenService } from "../domain/tokens.js";
import type { TrashService } from "../domain/trash.js";
import type { WebhookService } from "../domain/webhooks.js";
import type { Guards } from "../http/access.js";
import type { RequestTracing } from "../http/tracing.js";
import { type AccountSources, accountHandlers } from "./account.js";
import type { Preconditions } from "./conditional.js";
import { type EventSources, eventsHandlers } from "./events.js";
import { exportHandlers } from "./export.js";
import { invitesHandlers } from "./invites.js";
import { notesHandlers } from "./notes.js";
import { peopleHandlers } from "./people.js";
import { type SessionSources, sessionHandlers } from "./session.js";
import { tokensHandlers } from "./tokens.js";
import { trashHandlers } from "./trash.js";
import { webhooksHandlers } from "./webhooks.js";

export interface Services {
  people: PeopleService;
  notes: NotesService;
  session: SessionSources;
  preconditions: Preconditions;
  events: EventSources;
  export: ExportService;
  search: SearchService;
  account: AccountSources;
  tokens: TokenService;
  trash: TrashService;
  webhooks: WebhookService;
}

/**
 * The checks an operation asks for: its declared security's guard as soon as the request arrives,
 * and for a password sign-in, a check of its body before the handler.
 */
export type GuardFor = (operationId: string) => Guards;

/**
 * Binds operationIds to handlers as Connexion does: "people.read_all" is read_all in the people
 * module. An operation in the contract without a handler stops the server at start-up. An
 * operation that declares security gets its guard, run as soon as the request arrives. With
 * tracing on, each handler runs in a span named by its operationId.
 */
export function operationResolver(services: Services, guardFor: GuardFor, tracing?: RequestTracing) {
  const modules: Record<string, Record<string, unknown>> = {
    people: peopleHandlers(services.people, services.preconditions, services.search),
    notes: notesHandlers(services.notes, services.preconditions, services.search),
    session: sessionHandlers(services.session),
    events: eventsHandlers(services.events),
    export: exportHandlers(services.export),
    account: accountHandlers(services.account),
    invites: invitesHandlers(services.account),
    tokens: tokensHandlers(services.tokens),
    trash: trashHandlers(services.trash),
    webhooks: webhooksHandlers(services.webhooks),
  };
  return (operationId: string): RouteShorthandOptions & { handler: RouteHandlerMethod } => {
    const [module = "", name = ""] = operationId.split(".");
    const handler = modules[module]?.[name];
    if (typeof handler !== "function") throw new Error(`No handler for operation ${operationId}`);
    const route = tracing ? tracing.handler(operationId, handler as RouteHandlerMethod) : handler;
    return { handler: route as RouteHandlerMethod, ...guardFor(operationId) };
  };
}
