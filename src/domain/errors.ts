import type { Problem } from "./types.js";

type FieldError = NonNullable<Problem["errors"]>[number];

/** A failure the client caused; it becomes an RFC 9457 problem document with this status. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

export const notFound = (detail: string) => new ProblemError(404, "Not Found", detail);
export const conflict = (detail: string) => new ProblemError(409, "Conflict", detail);
export const badRequest = (detail: string, errors?: FieldError[]) =>
  new ProblemError(400, "Bad Request", detail, errors);

export const personNotFound = (personId: number) => notFound(`Person not found for Id: ${personId}`);
export const noteNotFound = (noteId: number) => notFound(`Note not found for Id: ${noteId}`);
/** Names the person who has the names, as stored (`doug  FARRELL` is refused as `Doug Farrell`). */
export const personExists = ({ fname, lname }: { fname: string; lname: string }) =>
  conflict(`${fname} ${lname} already exists`);
