/**
 * Writes openapi/contract.json: openapi/openapi.yaml parsed, checked against the OpenAPI schema,
 * and mapped to routes (src/contract/document.ts), each request schema checked against the JSON
 * Schema meta-schema (the request validators skip that check when they compile). `npm run gen`
 * runs it, so the server starts from JSON instead of parsing YAML and checking the contract on
 * every start. An invalid contract fails here, with what is wrong.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { compileContract } from "../src/contract/document.js";
import { checkRouteSchemas } from "../src/contract/schemas.js";
import { compiledContractPath, specPath } from "../src/paths.js";

const contract = await compileContract(readFileSync(specPath, "utf8"));
const problems = checkRouteSchemas(contract.routes);
if (problems.length > 0) {
  console.error(`openapi/openapi.yaml has invalid schemas:\n${problems.join("\n")}`);
  process.exit(1);
}
writeFileSync(compiledContractPath, `${JSON.stringify(contract)}\n`);
