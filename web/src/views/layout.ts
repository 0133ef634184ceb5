import { html, nothing, type TemplateResult } from "lit";
import type { ToastAction } from "../controllers/page.js";
import type { Access } from "../model/access.js";
import type { LiveStatus } from "../model/live.js";
import { paths, type Route } from "../router.js";

function navLink(href: string, label: string, current: boolean) {
  return html`<a class="nav__link" href=${href} aria-current=${current ? "page" : nothing}>${label}</a>`;
}

interface Frame {
  page: TemplateResult;
  toast: { message: string; action: ToastAction | undefined } | undefined;
  /** Sign in, or who is signed in and Sign out. */
  account: TemplateResult | typeof nothing;
  signInDialog: TemplateResult;
  live: LiveStatus;
  /** Who is signed in: the Webhooks link is for those who may manage them. */
  access: Access;
}

const LIVE_LABELS: Record<LiveStatus, { label: string; title: string }> = {
  live: { label: "Live", title: "Changes by others appear as they happen" },
  connecting: { label: "Connecting…", title: "Reconnecting to live updates" },
  offline: { label: "Offline", title: "Live updates are off for now; trying again shortly" },
};

/** Whether the lists follow everyone's changes right now. */
function liveIndicator(status: LiveStatus) {
  const { label, title } = LIVE_LABELS[status];
  return html`<span class="live live--${status}" title=${title} data-live=${status}>
    <span class="live__dot" aria-hidden="true"></span><span class="live__label">${label}</span>
  </span>`;
}

/** The frame of every page: navigation bar, the page itself, the polite status line, and the sign-in dialog. */
export function layoutView(route: Route, { page, toast, account, signInDialog, live, access }: Frame) {
  const onPeople = route.page === "people" || route.page === "notes";
  const action = toast?.action;
  return html`<a class="skip-link" href="#main">Skip to content</a>
    <header class="topbar">
      <div class="topbar__inner">
        <a class="brand" href=${paths.home()}>
          <svg class="brand__mark" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="8" fill="currentColor" />
            <path d="M9 10h14M9 16h14M9 22h9" stroke="#fff" stroke-width="2.5" stroke-linecap="round" />
          </svg>
          <span class="brand__name">People &amp; Notes</span>
        </a>
        <nav class="nav" aria-label="Main">
          ${navLink(paths.home(), "Home", route.page === "home")} ${navLink(paths.people(), "People", onPeople)}
          ${navLink(paths.trash(), "Trash", route.page === "trash")}
          ${
            access.mayManageWebhooks && !access.checking
              ? html`<a
                  class="nav__link nav__link--admin"
                  href=${paths.webhooks()}
                  aria-current=${route.page === "webhooks" ? "page" : nothing}
                >Webhooks</a>`
              : nothing
          }
        </nav>
        ${liveIndicator(live)} ${account}
      </div>
    </header>
    <main id="main" class="main" tabindex="-1">${page}</main>
    <footer class="footer">
      <p>People &amp; Notes · <a href="/api/ui/">API documentation</a></p>
    </footer>
    <div class="toast-region" role="status" aria-live="polite">
      ${
        toast
          ? html`<p class="toast ${action ? "toast--action" : ""}">
            <span class="toast__text">${toast.message}</span>
            ${
              action
                ? html`<button type="button" class="toast__action" @click=${() => action.run()}>${action.label}</button>`
                : nothing
            }
          </p>`
          : nothing
      }
    </div>
    ${signInDialog}`;
}

export function notFoundView() {
  return html`<div class="page page--narrow">
    <div class="state state--empty">
      <h1 tabindex="-1" class="state__title">Page not found</h1>
      <p class="state__body">There is nothing at this address.</p>
      <div class="state__actions">
        <a class="button button--primary" href=${paths.home()}>Latest notes</a>
        <a class="button button--secondary" href=${paths.people()}>People</a>
      </div>
    </div>
  </div>`;
}
