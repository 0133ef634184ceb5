/** What is stored: the text as typed, without surrounding whitespace. */
export const cleanText = (text: string): string => text.trim();

/**
 * The key two names are compared and sorted by: case, Unicode form and runs of whitespace do not
 * make a different person ("doug  FARRELL" is "Doug Farrell").
 */
export const nameKey = (name: string): string => name.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
