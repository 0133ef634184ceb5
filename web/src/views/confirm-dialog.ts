import { html, render } from "lit";

export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
}

let dialog: HTMLDialogElement | undefined;

function dialogElement(): HTMLDialogElement {
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.setAttribute("aria-describedby", "confirm-message");
    document.body.append(dialog);
  }
  return dialog;
}

/**
 * Asks before a destructive action, in a modal dialog inside the page. Escape or Cancel answers no;
 * the browser returns focus to where it was when the dialog closes.
 */
export function confirmAction({ title, message, confirmLabel }: ConfirmOptions): Promise<boolean> {
  const element = dialogElement();
  render(
    html`<form method="dialog" class="dialog__body">
      <h2 id="confirm-title" class="dialog__title">${title}</h2>
      <p id="confirm-message" class="dialog__message">${message}</p>
      <div class="dialog__actions">
        <button type="submit" value="cancel" class="button button--secondary" autofocus>Cancel</button>
        <button type="submit" value="confirm" class="button button--danger">${confirmLabel}</button>
      </div>
    </form>`,
    element,
  );
  element.returnValue = "";
  return new Promise((resolve) => {
    element.addEventListener("close", () => resolve(element.returnValue === "confirm"), { once: true });
    element.showModal();
  });
}
