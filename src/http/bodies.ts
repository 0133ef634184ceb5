import type {
  FastifyContentTypeParser,
  FastifyInstance,
  onRequestHookHandler,
  preValidationHookHandler,
} from "fastify";
import { badRequest } from "../domain/errors.js";

/**
 * Bodies are JSON only: any other media type is refused with 415 rather than reaching validation
 * as a string. A DELETE carries no meaningful body, so whatever it declares is ignored (the
 * tutorial's web app sends DELETEs as "plain/text").
 */
export function acceptJsonOnly(app: FastifyInstance, responseOnlyTypes: string[] = []): void {
  app.removeContentTypeParser("text/plain");
  // Problem documents are JSON too; the contract names the type (for error responses).
  app.addContentTypeParser(
    "application/problem+json",
    { parseAs: "string" },
    app.getDefaultJsonParser("error", "error"),
  );
  app.addContentTypeParser("*", refuseBody);
  // Media types the contract names for responses only (an event stream, NDJSON) are refused as
  // bodies the same way; named, they also tell the glue that a parser for them is in place.
  for (const type of responseOnlyTypes) app.addContentTypeParser(type, refuseBody);
  // Each hook goes only on the routes it concerns, so the others (every read) never run it.
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes("DELETE")) route.onRequest = withHook(route.onRequest, ignoreTypeOfDeleteBody);
    if (route.schema?.body !== undefined) route.preValidation = withHook(route.preValidation, requireBody);
  });
}

const refuseBody: FastifyContentTypeParser = (request, payload, done) => {
  if (request.method === "DELETE") {
    payload.resume();
    payload.on("end", () => done(null, undefined));
    return;
  }
  const type = request.headers["content-type"] ?? "";
  const error = Object.assign(new Error(`The request body must be application/json, not ${type}`), {
    statusCode: 415,
  });
  done(error, undefined);
};

function withHook<Hook>(existing: Hook | Hook[] | undefined, hook: Hook): Hook[] {
  if (existing === undefined) return [hook];
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}

// A DELETE's body means nothing, so its type is dropped whatever it says: a missing body is not
// empty JSON, and any body goes to refuseBody, which reads it to the end (the answer waits for the
// whole request) and ignores it, rather than to the JSON parser, which would refuse it as
// malformed (400) or too large (413).
const ignoreTypeOfDeleteBody: onRequestHookHandler = (request, _reply, done) => {
  if (request.method === "DELETE") delete request.headers["content-type"];
  done();
};

// A POST or PUT with no body and no content type skips the per-media-type body validator.
const requireBody: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined) {
    done(badRequest("The request body is required", [{ in: "body", pointer: "", message: "is required" }]));
    return;
  }
  done();
};
