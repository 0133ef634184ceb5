import { noChange } from "lit";
import { Directive, directive, type ElementPart, type PartInfo, PartType } from "lit/directive.js";

/**
 * Shows the `<dialog>` it is placed on as a modal while `open` is true, and closes it otherwise, so
 * that a dialog can be drawn from state like the rest of the page. The browser keeps focus inside
 * while it is open and gives it back to where it was when it closes.
 */
class ModalDirective extends Directive {
  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error("modal() belongs on a <dialog> element");
  }

  render(_open: boolean) {
    return noChange;
  }

  override update(part: ElementPart, [open]: [boolean]) {
    const dialog = part.element as HTMLDialogElement;
    if (open && !dialog.open) {
      // A dialog drawn for the first time is not in the document yet, and only then can it open.
      if (dialog.isConnected) dialog.showModal();
      else queueMicrotask(() => dialog.isConnected && !dialog.open && dialog.showModal());
    } else if (!open && dialog.open) {
      dialog.close();
    }
    return noChange;
  }
}

export const modal = directive(ModalDirective);
