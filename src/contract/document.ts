import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { compiledContractPath, specPath } from "../paths.js";

export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface LoadedSpec {
  yaml: string;
  document: OpenApiDocument;
}

/** One operation of the contract as a Fastify route: what fastify-openapi-glue's parser makes of it. */
export interface ContractRoute {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  config?: Record<string, unknown>;
  operationId: string;
  openapiPath: string;
}

/**
 * The contract ready to serve: the parsed document, and its operations as routes, checked
 * against the OpenAPI schema. `npm run gen` writes it to openapi/contract.json; `source` is the
 * SHA-256 of the openapi.yaml it was made from.
 */
export interface CompiledContract {
  source: string;
  document: OpenApiDocument;
  routes: ContractRoute[];
  /** The request body media types the routes take. */
  contentTypes: string[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Parses openapi.yaml and maps its operations to routes with fastify-openapi-glue, which checks it
 * against the OpenAPI schema first: the glue's plugin runs on a Fastify instance of its own, and
 * each route it adds is recorded as the glue gave it. Throws when the contract is not valid OpenAPI.
 */
export async function compileContract(yaml: string): Promise<CompiledContract> {
  const [{ parse }, { default: Fastify }, { default: openapiGlue }] = await Promise.all([
    import("yaml"),
    import("fastify"),
    import("fastify-openapi-glue"),
  ]);
  const document = parse(yaml) as OpenApiDocument;
  const routes: ContractRoute[] = [];
  const operations = new Map<unknown, { operationId: string; openapiPath: string }>();
  const recorder = Fastify({ logger: false });
  // Nothing is compiled or served here: only the routes' options are recorded.
  recorder.setValidatorCompiler(() => () => true);
  recorder.setSerializerCompiler(() => (data) => JSON.stringify(data));
  recorder.addHook("onRoute", (route) => {
    const operation = operations.get(route.handler);
    // Fastify adds a HEAD route for each GET by itself, and will again for the recorded GET.
    if (!operation || document.paths[operation.openapiPath]?.[String(route.method).toLowerCase()] === undefined) return;
    routes.push({
      method: route.method as string,
      url: route.url.slice(route.prefix.length),
      // A copy as the glue made it, before Fastify adds its own state to it.
      schema: JSON.parse(JSON.stringify(route.schema ?? {})) as Record<string, unknown>,
      ...(route.config === undefined ? {} : { config: JSON.parse(JSON.stringify(route.config)) }),
      ...operation,
    });
  });
  await recorder.register(openapiGlue, {
    specification: structuredClone(document),
    prefix: "/contract",
    operationResolver: (operationId: string, _method: string, openapiPath: string) => {
      const handler = async () => undefined;
      operations.set(handler, { operationId, openapiPath });
      return handler;
    },
  });
  await recorder.ready();
  await recorder.close();
  return { source: sha256(yaml), document, routes, contentTypes: requestBodyTypes(document) };
}

/** The media types of every request body, as the glue lists them to check for content type parsers. */
function requestBodyTypes(document: OpenApiDocument): string[] {
  const types = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      const content = (operation as { requestBody?: { content?: Record<string, unknown> } } | null)?.requestBody
        ?.content;
      for (const type of Object.keys(content ?? {})) types.add(type);
    }
  }
  return [...types];
}

/** openapi/contract.json (or `path`) when it was made from this openapi.yaml; else nothing. */
export function readCompiledContract(yaml: string, path = compiledContractPath): CompiledContract | undefined {
  let compiled: CompiledContract;
  try {
    compiled = JSON.parse(readFileSync(path, "utf8")) as CompiledContract;
  } catch {
    return undefined;
  }
  return compiled.source === sha256(yaml) ? compiled : undefined;
}

let cachedSpec: LoadedSpec | undefined;
let cachedContract: Promise<CompiledContract> | undefined;

/**
 * The contract, read once per process: openapi/contract.json when it is current, else
 * openapi.yaml itself (the same document, parsed here).
 */
export function loadSpec(): LoadedSpec {
  if (!cachedSpec) {
    const yaml = readFileSync(specPath, "utf8");
    const compiled = readCompiledContract(yaml);
    if (compiled) cachedContract = Promise.resolve(compiled);
    const document =
      compiled?.document ??
      ((createRequire(import.meta.url)("yaml") as typeof import("yaml")).parse(yaml) as OpenApiDocument);
    cachedSpec = { yaml, document };
  }
  return cachedSpec;
}

/**
 * The contract's routes, once per process: from openapi/contract.json when it is current, else
 * made now from openapi.yaml (slower: the check against the OpenAPI schema runs in this process).
 */
export function loadContract(): Promise<CompiledContract> {
  if (!cachedContract) {
    const { yaml } = loadSpec();
    cachedContract ??= compileContract(yaml);
  }
  return cachedContract;
}
