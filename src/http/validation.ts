import type { Ajv2020, SchemaObject, ValidateFunction } from "ajv/dist/2020.js";
import type { FastifySchemaCompiler } from "fastify";
import { contractAjv } from "../contract/schemas.js";

/**
 * Bodies are checked exactly as sent, except that strings marked `x-trim` lose their surrounding
 * whitespace first. Path and query values are strings on the wire; only canonical decimal integers
 * become numbers (see coerceIntegers). Each Ajv is made when the first schema of its kind is compiled;
 * the schemas were checked against the meta-schema by `npm run gen` (checkRouteSchemas).
 */
let bodyAjv: Ajv2020 | undefined;
let paramsAjv: Ajv2020 | undefined;

const CANONICAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;

function integerProperties(schema: SchemaObject): string[] {
  const properties = (schema.properties ?? {}) as Record<string, SchemaObject>;
  return Object.keys(properties).filter((name) => properties[name]?.type === "integer");
}

/** "12" becomes 12; "1e3", "0x10", " 1" and "01" stay strings and so fail the integer check. */
function coerceIntegers(names: string[], data: Record<string, unknown>): void {
  for (const name of names) {
    const value = data[name];
    if (typeof value === "string" && CANONICAL_INTEGER.test(value)) data[name] = Number(value);
  }
}

/** Node hands headers over with lower-case names; the contract spells them as HTTP does. */
function withLowerCaseNames(schema: SchemaObject): SchemaObject {
  const properties = (schema.properties ?? {}) as Record<string, SchemaObject>;
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(properties).map(([name, value]) => [name.toLowerCase(), value])),
    ...(Array.isArray(schema.required) ? { required: schema.required.map((name: string) => name.toLowerCase()) } : {}),
  };
}

function compileNow(schema: SchemaObject, httpPart: string | undefined): ValidateFunction {
  if (httpPart === "body") {
    bodyAjv ??= contractAjv({ trim: true, validateSchema: false });
    return bodyAjv.compile(schema);
  }
  paramsAjv ??= contractAjv({ useDefaults: true, validateSchema: false });
  const validate = paramsAjv.compile(httpPart === "headers" ? withLowerCaseNames(schema) : schema);
  const integers = integerProperties(schema);
  const validateWithCoercion = ((data: Record<string, unknown>) => {
    if (data && typeof data === "object") coerceIntegers(integers, data);
    const valid = validate(data);
    validateWithCoercion.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return validateWithCoercion;
}

/**
 * Validators by request part and schema text, compiled once per process: every app built in a
 * process (the tests build hundreds) hands Fastify fresh copies of the same contract schemas.
 */
const compiledOnce = new Map<string, ValidateFunction>();

function compileOnce(schema: SchemaObject, httpPart: string | undefined): ValidateFunction {
  const key = `${httpPart ?? ""}\n${JSON.stringify(schema)}`;
  let validate = compiledOnce.get(key);
  if (validate === undefined) {
    validate = compileNow(schema, httpPart);
    compiledOnce.set(key, validate);
  }
  return validate;
}

/**
 * Fastify asks for every route's validators when the app starts; each is compiled when its route
 * first validates a request instead, so a start compiles only what its first requests use. The
 * contract's schemas are checked when it is built (`npm run gen`) and by the tests, which send a
 * first request to every operation of a fresh app.
 */
export const compileValidator: FastifySchemaCompiler<SchemaObject> = ({ schema, httpPart }) => {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compileOnce(schema, httpPart);
    const valid = compiled(data);
    validate.errors = compiled.errors;
    return valid;
  }) as ValidateFunction;
  return validate;
};
