import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: this module runs from src/ (tsx) or dist/ (compiled), both one level down. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const specPath = resolve(projectRoot, "openapi/openapi.yaml");
export const webDistPath = resolve(projectRoot, "web/dist");
/** openapi.yaml parsed, checked and mapped to routes by `npm run gen` (see src/contract/document.ts). */
export const compiledContractPath = resolve(projectRoot, "openapi/contract.json");
