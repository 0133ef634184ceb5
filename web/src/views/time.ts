import { html } from "lit";

const readable = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Every time in the app: local and readable, with the exact ISO time on hover and for machines. */
export function timeView(iso: string) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`<time>${iso}</time>`;
  return html`<time datetime=${iso} title=${iso}>${readable.format(date)}</time>`;
}
