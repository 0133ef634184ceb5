import { limits } from "../../../openapi/limits.js";

/**
 * The contract's `Name` and `Content` limits, generated from openapi/openapi.yaml (`npm run gen`):
 * the form says what the server would refuse before anything is sent.
 */
export const NAME_MAX_LENGTH = limits.schemas.Name.maxLength;
export const CONTENT_MAX_LENGTH = limits.schemas.Content.maxLength;
const NEW_PASSWORD = limits.schemas.NewPassword;
/** What the password fields say of a new password; the server alone knows its list of common ones. */
export const NEW_PASSWORD_HINT = `At least ${NEW_PASSWORD.minLength} characters; spaces are fine. Not one of the commonly used passwords.`;
export const PASSKEY_NAME_MAX_LENGTH = limits.schemas.PasskeyName.maxLength;

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

export const checkPasskeyName = (value: string) => checkText(value, PASSKEY_NAME_MAX_LENGTH, "a name");

/** Length only: the server alone knows its list of common passwords, and says so when it refuses one. */
export function checkNewPassword(value: string): string | undefined {
  const length = [...value.normalize("NFKC")].length;
  if (length < NEW_PASSWORD.minLength) return `Use at least ${NEW_PASSWORD.minLength} characters.`;
  if (length > NEW_PASSWORD.maxLength) return `Use at most ${NEW_PASSWORD.maxLength} characters.`;
  return undefined;
}

export function formatCount(value: number): string {
  return numberFormat.format(value);
}
