import { html, nothing } from "lit";
import type { NoteRevision } from "../model/api.js";
import { madeBy, wordDiff } from "../model/history.js";
import type { PagedList } from "../model/paged-list.js";
import { pagedListView } from "./feedback.js";
import { timeView } from "./time.js";

/** The panel's state, and what its controls ask for (the controller is controllers/history-panel.ts). */
export interface HistoryPanel {
  readonly open: boolean;
  /** The version compared with the current one, if any. */
  readonly compared: number | undefined;
  readonly versions: PagedList<NoteRevision>;
  /** What the compared version is set against. */
  readonly current: { content: string } | undefined;
  toggle(): void;
  compare(version: number | undefined): void;
  restore(revision: NoteRevision): void;
  retry(): void;
  loadMore(): void;
}

export interface HistoryOptions {
  /** The note's person, to name them as the maker of their own versions. */
  author: { person_id: number; name: string };
  /** Whether the user may restore a version (as for editing the note). */
  mayRestore: boolean;
  /** While the editor is saving: restoring waits. */
  busy: boolean;
}

/**
 * Below the note's editor: "Show history" opens the note's versions, newest first. Any older one
 * can be compared with the current version, word by word, and restored.
 */
export function historyView(panel: HistoryPanel, options: HistoryOptions) {
  return html`<section class="history" aria-labelledby="history-heading">
    <div class="history__head">
      <h3 id="history-heading" class="history__title">History</h3>
      <button
        type="button"
        class="button button--secondary button--small"
        aria-expanded=${panel.open ? "true" : "false"}
        aria-controls="history-panel"
        @click=${() => panel.toggle()}
      >
        ${panel.open ? "Hide history" : "Show history"}
      </button>
    </div>
    ${panel.open ? html`<div id="history-panel">${versionsView(panel, options)} ${diffView(panel)}</div>` : nothing}
  </section>`;
}

function versionsView(panel: HistoryPanel, options: HistoryOptions) {
  return pagedListView(panel.versions, {
    noun: "versions",
    empty: { title: "No versions", body: "This note has no history yet." },
    items: (versions) =>
      html`<ol class="history__list">
        ${versions.map((revision) => versionRow(panel, revision, options))}
      </ol>`,
    retry: () => panel.retry(),
    loadMore: () => panel.loadMore(),
  });
}

function versionRow(panel: HistoryPanel, revision: NoteRevision, options: HistoryOptions) {
  const compared = panel.compared === revision.version;
  return html`<li class="history__version ${compared ? "history__version--compared" : ""}" data-version=${revision.version}>
    <p class="history__meta">
      <strong>Version ${revision.version}</strong>
      ${revision.current ? html`<span class="badge">Current</span>` : nothing}
      <span>${timeView(revision.timestamp)}, ${madeBy(revision, options.author)}</span>
    </p>
    <p class="history__excerpt">${excerpt(revision.content)}</p>
    ${
      revision.current
        ? nothing
        : html`<div class="history__actions">
          <button
            type="button"
            class="button button--secondary button--small"
            aria-pressed=${compared ? "true" : "false"}
            @click=${() => panel.compare(compared ? undefined : revision.version)}
          >
            ${compared ? "Hide comparison" : "Compare with current"}<span class="visually-hidden">: version ${revision.version}</span>
          </button>
          ${
            options.mayRestore
              ? html`<button
                type="button"
                class="button button--secondary button--small"
                ?disabled=${options.busy}
                @click=${() => panel.restore(revision)}
              >
                Restore this version<span class="visually-hidden"> (${revision.version})</span>
              </button>`
              : nothing
          }
        </div>`
    }
  </li>`;
}

/** The compared version against the current one: removed words struck through, added words marked. */
function diffView(panel: HistoryPanel) {
  const older = panel.versions.items.find((revision) => revision.version === panel.compared);
  const current = panel.current;
  if (!older || !current) return nothing;
  const parts = wordDiff(older.content, current.content);
  return html`<section id="history-diff" class="history__diff" tabindex="-1" aria-labelledby="history-diff-heading">
    <h4 id="history-diff-heading" class="history__diff-title">Version ${older.version} → current</h4>
    <p class="history__legend">
      <del>Removed</del> since version ${older.version}, <ins>added</ins> since.
    </p>
    <p class="history__diff-text">
      ${parts.map((part) =>
        part.kind === "removed"
          ? html`<del>${part.text}</del>`
          : part.kind === "added"
            ? html`<ins>${part.text}</ins>`
            : part.text,
      )}
    </p>
  </section>`;
}

function excerpt(text: string, length = 120): string {
  const chars = [...text];
  return chars.length > length ? `${chars.slice(0, length).join("").trimEnd()}…` : text;
}
