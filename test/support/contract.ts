import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import { specPath } from "../../src/paths.js";

/** The parts of a response the contract speaks about. */
export interface ContractResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

type Json = Record<string, unknown>;

export const API_PREFIX = "/api";
/** Served under /api for reading the contract itself; not operations of the contract. */
export const DOCUMENTATION_PATHS = [/^\/api\/openapi\.(json|yaml)$/, /^\/api\/ui(\/.*)?$/];
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const SPEC_ID = "https://people-notes.test/openapi.json";

export const spec = parse(readFileSync(specPath, "utf8")) as Json & { paths: Record<string, Json> };

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, SPEC_ID);

const escapePointer = (segment: string) => segment.replaceAll("~", "~0").replaceAll("/", "~1");

function at(pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<unknown>(
      (node, segment) => (node as Json | undefined)?.[segment.replaceAll("~1", "/").replaceAll("~0", "~")],
      spec,
    );
}

/** Follows a `$ref` (to a response or header) and returns the pointer of the object it names. */
function resolve(pointer: string): string {
  const node = at(pointer) as Json | undefined;
  const ref = node?.$ref;
  return typeof ref === "string" && ref.startsWith("#/") ? resolve(ref.slice(1)) : pointer;
}

const validators = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.getSchema(`${SPEC_ID}#${pointer}`);
    assert.ok(validate, `the contract has no schema at ${pointer}`);
    validators.set(pointer, validate);
  }
  return validate;
}

export interface Operation {
  method: string;
  /** The path as the contract writes it, e.g. /people/{person_id}. */
  template: string;
  operationId: string;
  pointer: string;
}

export const operations: Operation[] = Object.entries(spec.paths).flatMap(([template, item]) =>
  METHODS.filter((method) => method in item).map((method) => ({
    method: method.toUpperCase(),
    template,
    operationId: (item[method] as Json).operationId as string,
    pointer: `/paths/${escapePointer(template)}/${method}`,
  })),
);

function matchesTemplate(template: string, path: string): boolean {
  const want = template.split("/");
  const got = path.split("/");
  return want.length === got.length && want.every((segment, i) => /^\{[^}]+\}$/.test(segment) || segment === got[i]);
}

function mediaType(headers: ContractResponse["headers"]): string | undefined {
  const value = headers["content-type"];
  return typeof value === "string" ? (value.split(";", 1)[0] ?? "").trim().toLowerCase() : undefined;
}

function parseBody(response: ContractResponse): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    assert.fail(`the ${response.statusCode} response body is not JSON: ${response.body.slice(0, 200)}`);
  }
}

function assertValid(validate: ValidateFunction, value: unknown, what: string): void {
  if (!validate(value)) {
    assert.fail(`${what} does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`);
  }
}

const PROBLEM = "/components/schemas/Problem";

/** Any error document, documented or not, is a problem whose `status` is the HTTP status. */
function assertProblem(response: ContractResponse, where: string): void {
  assert.equal(mediaType(response.headers), "application/problem+json", `${where}: an error is a problem document`);
  const body = parseBody(response) as Json;
  assertValid(validatorAt(PROBLEM), body, `${where}: the problem`);
  assert.equal(body.status, response.statusCode, `${where}: the problem's status is the response's`);
}

function assertOperationResponse(operation: Operation, response: ContractResponse, head: boolean): void {
  const where = `${operation.operationId} ${response.statusCode}`;
  const responses = (at(operation.pointer) as Json).responses as Json;
  const documented = String(response.statusCode) in responses;
  assert.ok(documented, `${operation.operationId} does not document status ${response.statusCode}: ${response.body}`);
  const pointer = resolve(`${operation.pointer}/responses/${response.statusCode}`);
  const documentedResponse = at(pointer) as Json;

  for (const [name] of Object.entries((documentedResponse.headers ?? {}) as Json)) {
    const value = response.headers[name.toLowerCase()];
    if (value === undefined) continue;
    const headerPointer = resolve(`${pointer}/headers/${escapePointer(name)}`);
    const schema = (at(headerPointer) as Json).schema as Json;
    const typed = schema.type === "integer" ? Number(value) : value;
    assertValid(validatorAt(`${headerPointer}/schema`), typed, `${where}: header ${name}`);
  }

  const content = documentedResponse.content as Json | undefined;
  if (!content) {
    assert.equal(response.body, "", `${where}: documents no body, so none is sent`);
    return;
  }
  const type = mediaType(response.headers);
  assert.ok(
    type !== undefined && type in content,
    `${where}: content type ${type} is not one of ${Object.keys(content).join(", ")}`,
  );
  if (head) return;
  if (type === "application/x-ndjson") {
    const validate = validatorAt(`${pointer}/content/${escapePointer(type)}/schema`);
    for (const [i, line] of response.body.split("\n").slice(0, -1).entries()) {
      assertValid(validate, JSON.parse(line), `${where}: line ${i + 1} of the body`);
    }
    return;
  }
  const body = parseBody(response);
  assertValid(validatorAt(`${pointer}/content/${escapePointer(type)}/schema`), body, `${where}: the body`);
  if (type === "application/problem+json") assertProblem(response, where);
}

/**
 * What Connexion's validate_responses does: every response under /api must be one the contract
 * documents for its operation (status, content type, headers, body). Requests that reach no
 * operation must get a problem: 405 with Allow on a known path, 404 anywhere else.
 */
export function assertMatchesContract(method: string, url: string, response: ContractResponse): void {
  const path = new URL(url, "http://localhost").pathname;
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return;
  if (DOCUMENTATION_PATHS.some((pattern) => pattern.test(path))) return;

  const inside = path.slice(API_PREFIX.length);
  const verb = method.toUpperCase();
  const head = verb === "HEAD";
  const candidates = operations.filter((operation) => matchesTemplate(operation.template, inside));
  const operation = candidates.find((candidate) => candidate.method === (head ? "GET" : verb));
  if (operation) {
    assertOperationResponse(operation, response, head);
    return;
  }
  if (candidates.length > 0) {
    assert.equal(response.statusCode, 405, `${verb} ${path}: a known path answers another method with 405`);
    const allow = String(response.headers.allow ?? "")
      .split(",")
      .map((m) => m.trim());
    for (const candidate of candidates) assert.ok(allow.includes(candidate.method), `Allow lists ${candidate.method}`);
  } else {
    assert.equal(response.statusCode, 404, `${verb} ${path}: an unknown route is 404`);
  }
  if (!head) assertProblem(response, `${verb} ${path}`);
}
