import type { ErrorObject, SchemaObject } from "ajv/dist/2020.js";
import type { components } from "../../openapi/types.js";
import { TRIM_KEYWORD } from "./schemas.js";

/** One entry of a problem document's `errors`. */
export type FieldError = NonNullable<components["schemas"]["Problem"]["errors"]>[number];

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

/** The errors in one line, for a problem's `detail`. */
export function summarize(errors: FieldError[]): string {
  return errors
    .map((error) => {
      const path = error.pointer ? `.${error.pointer.slice(1).replaceAll("/", ".")}` : "";
      return `${error.in}${path} ${error.message}`;
    })
    .join("; ");
}
