import type { SchemaObject, ValidateFunction } from "ajv/dist/2020.js";
import type { FastifySchemaCompiler } from "fastify";
import { contractAjv } from "../contract/schemas.js";

/**
 * Bodies are checked exactly as sent, except that strings marked `x-trim` lose their surrounding
 * whitespace first. Path and query values are strings on the wire; only canonical decimal integers
 * become numbers (see coerceIntegers).
 */
const bodyAjv = contractAjv({ trim: true });
const paramsAjv = contractAjv({ useDefaults: true });

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

export const compileValidator: FastifySchemaCompiler<SchemaObject> = ({ schema, httpPart }) => {
  if (httpPart === "body") return bodyAjv.compile(schema);
  const validate = paramsAjv.compile(httpPart === "headers" ? withLowerCaseNames(schema) : schema);
  const integers = integerProperties(schema);
  const validateWithCoercion = ((data: Record<string, unknown>) => {
    if (data && typeof data === "object") coerceIntegers(integers, data);
    const valid = validate(data);
    validateWithCoercion.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return validateWithCoercion;
};
