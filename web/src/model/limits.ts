import { limits } from "../../../openapi/limits.js";

/**
 * The contract's `Name` and `Content` limits, generated from openapi/openapi.yaml (`npm run gen`):
 * the form says what the server would refuse before anything is sent.
 */
export const NAME_MAX_LENGTH = limits.schemas.Name.maxLength;
export const CONTENT_MAX_LENGTH = limits.schemas.Content.maxLength;

const numberFormat = new Intl.NumberFormat();

function checkText(value: string, max: number, noun: string): string | undefined {
  if (value.trim() === "") return `Enter ${noun}.`;
  if (value.includes("\u0000")) return "Remove the NUL character.";
  // The server counts characters (code points), not UTF-16 units.
  const length = [...value.trim()].length;
  if (length > max) {
    return `Use at most ${numberFormat.format(max)} characters (now ${numberFormat.format(length)}).`;
  }
  return undefined;
}

export const checkFirstName = (value: string) => checkText(value, NAME_MAX_LENGTH, "a first name");
export const checkLastName = (value: string) => checkText(value, NAME_MAX_LENGTH, "a last name");
export const checkContent = (value: string) => checkText(value, CONTENT_MAX_LENGTH, "some text");

export function formatCount(value: number): string {
  return numberFormat.format(value);
}
