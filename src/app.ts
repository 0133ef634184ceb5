import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import openapiGlue from "fastify-openapi-glue";
import { operationResolver } from "./api/index.js";
import { ping, type Store } from "./db/database.js";
import { NotesRepository } from "./db/notes-repository.js";
import { PeopleRepository } from "./db/people-repository.js";
import { NotesService } from "./domain/notes.js";
import { PeopleService } from "./domain/people.js";
import { acceptJsonOnly } from "./http/bodies.js";
import { registerSecurityHeaders } from "./http/headers.js";
import { problem, registerProblemHandlers, sendProblem } from "./http/problems.js";
import { OneLinePerRequest } from "./http/request-log.js";
import { loadSpec, pathMethods } from "./http/spec.js";
import { compileValidator } from "./http/validation.js";
import { registerWebApp } from "./http/web.js";

export const API_PREFIX = "/api";
/** Large enough for the longest note (10,000 characters, escaped), small enough to refuse floods. */
export const BODY_LIMIT = 128 * 1024;

export interface AppOptions {
  store: Store;
  logger?: FastifyServerOptions["logger"];
  /** Where the built web app lives; defaults to web/dist. */
  webRoot?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp({ store, logger = false, webRoot }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    logController: new OneLinePerRequest(),
    bodyLimit: BODY_LIMIT,
    // Fastify's default (100) makes a longer id miss its route and fall through to 404/405 handling;
    // every id must reach validation and get its 400. Node refuses URLs over 16 KiB before this.
    routerOptions: { maxParamLength: 16 * 1024 },
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // A caller's own request id is kept (and logged) when it is a plain token.
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  acceptJsonOnly(app);
  app.setValidatorCompiler(compileValidator);
  registerSecurityHeaders(app);

  const spec = loadSpec();
  const apiNotFound = registerProblemHandlers(app, pathMethods(spec.document, API_PREFIX));

  const people = new PeopleRepository(store.db, store.runner);
  const notes = new NotesRepository(store.db, store.runner);
  const services = { people: new PeopleService(people), notes: new NotesService(notes, people) };

  await app.register(swagger, { mode: "static", specification: { document: structuredClone(spec.document) as never } });
  await app.register(swaggerUi, { routePrefix: `${API_PREFIX}/ui` });
  await app.register(openapiGlue, {
    specification: structuredClone(spec.document),
    operationResolver: operationResolver(services),
    prefix: API_PREFIX,
  });

  app.get(`${API_PREFIX}/openapi.json`, { logLevel: "warn" }, async () => spec.document);
  app.get(`${API_PREFIX}/openapi.yaml`, { logLevel: "warn" }, async (_request, reply) =>
    reply.type("application/yaml; charset=utf-8").send(spec.yaml),
  );

  app.get("/healthz", { logLevel: "warn" }, async () => ({ status: "ok" }));
  app.get("/readyz", { logLevel: "warn" }, async (request, reply) => {
    try {
      await ping(store);
      return { status: "ready" };
    } catch (error) {
      request.log.warn({ err: error }, "database not reachable");
      return sendProblem(reply.header("retry-after", "1"), problem(503, "The database is not reachable"));
    }
  });

  const web = await registerWebApp(app, webRoot);
  app.setNotFoundHandler((request, reply) => {
    if (request.url === API_PREFIX || request.url.startsWith(`${API_PREFIX}/`)) return apiNotFound(request, reply);
    if (web.sendPage(request, reply)) return reply;
    return sendProblem(reply, problem(404, "There is no resource at this URL"));
  });

  return app;
}
