import { notFoundView } from "../views/layout.js";
import type { PageController } from "./page.js";

export class NotFoundController implements PageController {
  readonly title = "Page not found";
  show(): void {}
  view() {
    return notFoundView();
  }
  dispose(): void {}
}
