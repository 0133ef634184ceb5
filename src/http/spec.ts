import type { OpenApiDocument } from "../contract/document.js";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

export interface PathMethods {
  pattern: RegExp;
  /** Methods the path answers, as an Allow header lists them. */
  allow: string[];
}

/** For telling "wrong method on a known path" (405) from "no such path" (404). */
export function pathMethods(document: OpenApiDocument, prefix: string): PathMethods[] {
  return Object.entries(document.paths).map(([path, item]) => {
    const methods = METHODS.filter((m) => m in item).map((m) => m.toUpperCase());
    if (methods.includes("GET") && !methods.includes("HEAD")) methods.push("HEAD");
    const source = `${prefix}${path}`.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
    return { pattern: new RegExp(`^${source}$`), allow: methods };
  });
}

/** One alternative of an operation's `security`: scheme name → roles. `{}` means none is needed. */
export type SecurityRequirement = Record<string, string[]>;

/** Each operation's `security`, by operationId; operations without one are absent. */
export function securityByOperation(document: OpenApiDocument): Map<string, SecurityRequirement[]> {
  const found = new Map<string, SecurityRequirement[]>();
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as { operationId?: string; security?: SecurityRequirement[] } | undefined;
      if (operation?.operationId && operation.security) found.set(operation.operationId, operation.security);
    }
  }
  return found;
}

/** operationId by `METHOD /prefix/route/:param`, as Fastify names the route. */
export function operationsByRoute(document: OpenApiDocument, prefix: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [path, item] of Object.entries(document.paths)) {
    const route = `${prefix}${path.replace(/\{([^}]+)\}/g, ":$1")}`;
    for (const method of METHODS) {
      const operation = item[method] as { operationId?: string } | undefined;
      if (operation?.operationId) found.set(`${method.toUpperCase()} ${route}`, operation.operationId);
    }
  }
  return found;
}

interface WithContent {
  content?: Record<string, unknown>;
}

/** Media types the contract's responses use that no request body does, and that are not JSON. */
export function responseOnlyTypes(document: OpenApiDocument): string[] {
  const responses = new Set<string>();
  const requests = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as
        | { requestBody?: WithContent; responses?: Record<string, WithContent> }
        | undefined;
      for (const type of Object.keys(operation?.requestBody?.content ?? {})) requests.add(type);
      for (const response of Object.values(operation?.responses ?? {})) {
        for (const type of Object.keys(response.content ?? {})) responses.add(type);
      }
    }
  }
  return [...responses].filter((type) => !requests.has(type) && !/[/+]json$/.test(type));
}
