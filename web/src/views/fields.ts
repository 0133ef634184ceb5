import { html, nothing } from "lit";

interface FieldOptions {
  id: string;
  label: string;
  value: string;
  error: string | undefined;
  hint?: string;
  autocomplete?: string;
  /** For a single line: `password` keeps a secret off the screen. */
  type?: "text" | "password";
  /** Takes focus when the dialog it is in opens. */
  autofocus?: boolean;
  multiline?: boolean;
  onInput: (value: string) => void;
}

/** A labelled input with its hint and its error, both announced through aria-describedby. */
export function fieldView(options: FieldOptions) {
  const { id, label, value, error, hint, autocomplete, type = "text", autofocus = false, multiline, onInput } = options;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  const input = (event: Event) => onInput((event.target as HTMLInputElement | HTMLTextAreaElement).value);
  const control = multiline
    ? html`<textarea
        id=${id}
        name=${id}
        rows="5"
        .value=${value}
        aria-invalid=${error ? "true" : "false"}
        aria-describedby=${described || nothing}
        @input=${input}
      ></textarea>`
    : html`<input
        id=${id}
        name=${id}
        type=${type}
        autocomplete=${autocomplete ?? nothing}
        ?autofocus=${autofocus}
        spellcheck="false"
        .value=${value}
        aria-invalid=${error ? "true" : "false"}
        aria-describedby=${described || nothing}
        @input=${input}
      />`;
  return html`<div class="field ${error ? "field--invalid" : ""}">
    <label for=${id}>${label}</label>
    ${control}
    <div class="field__meta">
      ${error ? html`<p class="field__error" id="${id}-error">${error}</p>` : nothing}
      ${hint ? html`<p class="field__hint" id="${id}-hint">${hint}</p>` : nothing}
    </div>
  </div>`;
}
