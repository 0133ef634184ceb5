import { Ajv2020, type FuncKeywordDefinition, type SchemaObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { loadSpec } from "./document.js";

// ajv-formats is CommonJS; its default export arrives wrapped once more under NodeNext.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

/** The contract's mark on a string schema whose value is stored without surrounding whitespace. */
export const TRIM_KEYWORD = "x-trim";

export interface ContractAjvOptions {
  /** Fill in the schemas' defaults (path and query values). */
  useDefaults?: boolean;
  /** Apply `x-trim` (request bodies); without it the keyword is only a mark and values are checked as they are. */
  trim?: boolean;
  /**
   * Check each schema against the JSON Schema meta-schema before compiling it (the default). Compiling
   * that check costs a start about a tenth of its time; the request validators skip it, because
   * `npm run gen` and the tests run it on every schema of the contract (checkRouteSchemas).
   */
  validateSchema?: boolean;
}

/**
 * An Ajv (JSON Schema 2020-12) for the contract's schemas. Values are checked exactly as given: no
 * type coercion, no silent removal of unknown fields (Fastify's own defaults would turn 5 into "5"
 * and drop extra keys), every failure reported. Unknown keywords (`x-error-message`) are allowed.
 */
export function contractAjv({
  useDefaults = false,
  trim = false,
  validateSchema = true,
}: ContractAjvOptions = {}): Ajv2020 {
  const ajv = new Ajv2020({
    validateSchema,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults,
    allErrors: true,
    verbose: true,
    strict: false,
  });
  addFormats(ajv);
  return trim ? addTrimKeyword(ajv) : ajv;
}

const trimInPlace: FuncKeywordDefinition["validate"] = (trim: boolean, value: string, _schema, context) => {
  if (trim && context?.parentData !== undefined) {
    (context.parentData as Record<string | number, unknown>)[context.parentDataProperty] = value.trim();
  }
  return true;
};

/**
 * `x-trim: true` on a string schema: surrounding whitespace is removed first, and the length,
 * blank and character checks apply to what remains, which is what the handler gets and what is
 * stored. It runs before the string's other keywords; Ajv reads the value again after it.
 */
function addTrimKeyword(ajv: Ajv2020): Ajv2020 {
  return ajv.addKeyword({
    keyword: TRIM_KEYWORD,
    type: "string",
    schemaType: "boolean",
    modifying: true,
    before: "maxLength",
    validate: trimInPlace,
  });
}

const CONTRACT_ID = "people-notes:contract";

/** The contract's component schemas by name (`ExportPerson`), each compiled once, on first use, with `ajv`. */
export function componentSchemas(ajv: Ajv2020): (name: string) => ValidateFunction {
  const validators = new Map<string, ValidateFunction>();
  let added = false;
  return (name) => {
    let validate = validators.get(name);
    if (validate === undefined) {
      if (!added) {
        ajv.addSchema(loadSpec().document, CONTRACT_ID);
        added = true;
      }
      validate = ajv.getSchema(`${CONTRACT_ID}#/components/schemas/${name}`);
      if (validate === undefined) throw new Error(`the contract has no schema ${name}`);
      validators.set(name, validate);
    }
    return validate;
  };
}

/** The parts of a route's schema that are validated, as Fastify names them. */
const REQUEST_PARTS = ["params", "querystring", "headers"] as const;

/**
 * Every request schema of the routes checked against the JSON Schema 2020-12 meta-schema, as Ajv
 * does before compiling one by default: the problems found, one line each (none when all are valid).
 */
export function checkRouteSchemas(routes: { operationId: string; schema: Record<string, unknown> }[]): string[] {
  const ajv = contractAjv();
  const problems: string[] = [];
  const check = (where: string, schema: unknown) => {
    if (!ajv.validateSchema(schema as SchemaObject)) problems.push(`${where}: ${ajv.errorsText(ajv.errors)}`);
  };
  for (const { operationId, schema } of routes) {
    for (const part of REQUEST_PARTS) if (schema[part] !== undefined) check(`${operationId} ${part}`, schema[part]);
    const body = schema.body as { content?: Record<string, { schema?: unknown }> } | undefined;
    for (const [type, media] of Object.entries(body?.content ?? {})) check(`${operationId} body ${type}`, media.schema);
  }
  return problems;
}
