/**
 * Writes openapi/limits.ts: the limits of the contract's named schemas and parameters (lengths,
 * numbers, item counts), which openapi-typescript does not carry into types, and the values of its
 * named string enums, which types cannot list at run time. `npm run gen` runs it after
 * openapi-typescript, so the web app checks a form against the limits the server applies and
 * offers the choices the server accepts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";

type Json = Record<string, unknown>;

const KEYWORDS = ["minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"] as const;

function limitsOf(schema: unknown): Json | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  const found = KEYWORDS.filter((keyword) => typeof (schema as Json)[keyword] === "number").map(
    (keyword) => [keyword, (schema as Json)[keyword]] as const,
  );
  return found.length === 0 ? undefined : Object.fromEntries(found);
}

function collect(entries: [string, unknown][]): Json {
  return Object.fromEntries(
    entries.flatMap(([name, schema]) => {
      const limits = limitsOf(schema);
      return limits ? [[name, limits]] : [];
    }),
  );
}

/** The named schemas that are an enum of strings, with their values in the contract's order. */
function enumsOf(schemas: Json): Json {
  return Object.fromEntries(
    Object.entries(schemas).flatMap(([name, schema]) => {
      const values = (schema as Json | undefined)?.enum;
      return Array.isArray(values) && values.every((value) => typeof value === "string") ? [[name, values]] : [];
    }),
  );
}

/** The module's text for a parsed contract. */
export function renderContractLimits(spec: Json): string {
  const components = (spec.components ?? {}) as { schemas?: Json; parameters?: Record<string, Json> };
  const limits = {
    schemas: collect(Object.entries(components.schemas ?? {})),
    parameters: collect(Object.entries(components.parameters ?? {}).map(([name, p]) => [name, p.schema])),
    enums: enumsOf(components.schemas ?? {}),
  };
  return [
    "// Generated from openapi/openapi.yaml by scripts/contract-limits.ts (npm run gen). Do not edit.",
    "",
    "/** The limits of the contract's named schemas and parameters, and the values of its named enums. */",
    `export const limits = ${JSON.stringify(limits, null, 2)} as const;`,
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const root = join(import.meta.dirname, "..");
  const spec = parse(readFileSync(join(root, "openapi", "openapi.yaml"), "utf8")) as Json;
  writeFileSync(join(root, "openapi", "limits.ts"), renderContractLimits(spec));
}
