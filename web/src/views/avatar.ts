import { html } from "lit";

const HUES = [232, 262, 190, 160, 28, 338, 205];

/** Initials on a colour picked from the name, so the same person always looks the same. */
export function avatarView(person: { fname: string; lname: string }, size: "small" | "large" = "small") {
  const initials = `${[...person.fname.trim()][0] ?? ""}${[...person.lname.trim()][0] ?? ""}`.toUpperCase();
  let hash = 0;
  for (const char of `${person.fname} ${person.lname}`) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  const hue = HUES[hash % HUES.length];
  return html`<span class="avatar avatar--${size}" style="--avatar-hue: ${hue}" aria-hidden="true">${initials}</span>`;
}
