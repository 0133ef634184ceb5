const STORAGE_KEY = "people-notes.token";

/**
 * The token the user signed in with. It is kept in sessionStorage, so it lasts as long as the tab
 * and is never written to localStorage or a URL. Storage can be refused (some private modes); the
 * token then lasts until the page is reloaded.
 */
let token: string | undefined = readStored();

function readStored(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function currentToken(): string | undefined {
  return token;
}

export function keepToken(value: string): void {
  token = value;
  try {
    sessionStorage.setItem(STORAGE_KEY, value);
  } catch {
    // Kept in memory only.
  }
}

export function forgetToken(): void {
  token = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing was stored.
  }
}

export const bearer = (value: string) => `Bearer ${value}`;
