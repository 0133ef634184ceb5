/**
 * The key two names are compared and sorted by: case, Unicode form and runs of whitespace do not
 * make a different person ("doug  FARRELL" is "Doug Farrell"). The unique index on these keys is
 * what enforces it.
 */
export const nameKey = (name: string): string => name.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
