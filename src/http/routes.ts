import type { FastifyInstance, RouteOptions } from "fastify";
import type { ContractRoute } from "../contract/document.js";

/** What the route of an operation needs besides the contract: its handler, and hooks such as its guard. */
export type OperationResolver = (
  operationId: string,
  method: string,
  openapiPath: string,
) => Omit<RouteOptions, "method" | "url" | "schema">;

export interface ContractRoutesOptions {
  routes: ContractRoute[];
  /** The request body media types the routes take; each needs a content type parser. */
  contentTypes: string[];
  operationResolver: OperationResolver;
  prefix: string;
}

/**
 * Registers one route per operation of the contract, as fastify-openapi-glue's plugin does with
 * what its parser makes of the contract: in a context of their own under `prefix`, with the
 * operation's schemas and its `x-fastify-config`, and whatever `operationResolver` adds. The
 * parsing (and the check against the OpenAPI schema) happens in `npm run gen` instead of here.
 */
export async function registerContractRoutes(
  app: FastifyInstance,
  { routes, contentTypes, operationResolver, prefix }: ContractRoutesOptions,
): Promise<void> {
  for (const contentType of contentTypes) {
    if (!app.hasContentTypeParser(contentType)) app.log.warn(`ContentTypeParser for '${contentType}' not found`);
  }
  // Fastify keeps state on a route's schema objects; each app gets its own.
  const own = structuredClone(routes);
  await app.register(
    async (instance) => {
      for (const route of own) {
        instance.route({
          method: route.method,
          url: route.url,
          schema: route.schema,
          ...(route.config === undefined ? {} : { config: route.config }),
          ...operationResolver(route.operationId, route.method, route.openapiPath),
        } as RouteOptions);
      }
    },
    { prefix },
  );
}
