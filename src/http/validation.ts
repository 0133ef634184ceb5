import {
  Ajv2020,
  type ErrorObject,
  type FuncKeywordDefinition,
  type SchemaObject,
  type ValidateFunction,
} from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import type { Problem } from "../domain/types.js";

type FieldError = NonNullable<Problem["errors"]>[number];

// ajv-formats is CommonJS; its default export arrives wrapped once more under NodeNext.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;

/**
 * Bodies are checked exactly as sent: no type coercion, no silent removal of unknown fields
 * (Fastify's own defaults would turn 5 into "5" and drop extra keys). Path and query values are
 * strings on the wire; only canonical decimal integers become numbers (see coerceIntegers).
 */
function makeAjv(useDefaults: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults,
    allErrors: true,
    verbose: true,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

/** The contract's mark on a string schema whose value is stored without surrounding whitespace. */
export const TRIM_KEYWORD = "x-trim";

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

const bodyAjv = addTrimKeyword(makeAjv(false));
const paramsAjv = makeAjv(true);

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

const LOCATIONS: Record<string, FieldError["in"]> = {
  body: "body",
  params: "path",
  querystring: "query",
  headers: "header",
};

/** One entry per failing field, with a message a person can act on. */
export function describeValidationErrors(errors: ErrorObject[], context: string): FieldError[] {
  const location = LOCATIONS[context] ?? "body";
  const described = errors.map((error): FieldError => {
    const params = error.params as Record<string, string>;
    if (error.keyword === "required") {
      return { in: location, pointer: `${error.instancePath}/${params.missingProperty}`, message: "is required" };
    }
    if (error.keyword === "additionalProperties") {
      return { in: location, pointer: `${error.instancePath}/${params.additionalProperty}`, message: "is not allowed" };
    }
    const schema = error.parentSchema as SchemaObject | undefined;
    const custom = schema?.["x-error-message"];
    let message = error.keyword === "pattern" && typeof custom === "string" ? custom : (error.message ?? "is invalid");
    // Nothing left once trimmed: say so in the words of the contract.
    if (error.keyword === "minLength" && schema?.[TRIM_KEYWORD] === true && Number(params.limit) === 1) {
      message = "must not be blank";
    }
    return { in: location, pointer: error.instancePath, message };
  });
  // allErrors can report one field twice (say, wrong type and a pattern); keep the first word on it.
  const seen = new Set<string>();
  return described.filter((error) => {
    const key = `${error.in}${error.pointer}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function summarize(errors: FieldError[]): string {
  return errors
    .map((error) => {
      const path = error.pointer ? `.${error.pointer.slice(1).replaceAll("/", ".")}` : "";
      return `${error.in}${path} ${error.message}`;
    })
    .join("; ");
}
