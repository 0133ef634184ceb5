import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { specPath } from "../paths.js";

export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface LoadedSpec {
  yaml: string;
  document: OpenApiDocument;
}

let cached: LoadedSpec | undefined;

/** The contract, read once per process. */
export function loadSpec(): LoadedSpec {
  if (!cached) {
    const yaml = readFileSync(specPath, "utf8");
    cached = { yaml, document: parse(yaml) as OpenApiDocument };
  }
  return cached;
}
