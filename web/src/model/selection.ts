import type { ApiError } from "./api.js";

/** Something loaded on its own, such as the person whose notes a page shows. */
export type Loaded<T> = { status: "loading" } | { status: "ready"; value: T } | { status: "error"; error: ApiError };

/** The item open in an editor, chosen by id in the URL: nothing, on its way, there, or missing. */
export type Selection<T> =
  | { status: "none" }
  | { status: "loading"; id: number }
  | { status: "ready"; id: number; value: T }
  | { status: "error"; id: number; error: ApiError };

/** An editor's request in flight; the form's buttons wait for it. */
export type Busy = "saving" | "deleting" | undefined;

/**
 * Why a change to the open item was refused because someone else got there first: it was changed
 * (the newer version and its ETag, to keep the user's draft over it or to take it instead), or deleted.
 */
export type Conflict<T> = { kind: "changed"; theirs: T; etag: string | undefined } | { kind: "deleted" };

/** An editor as its view sees it: the item open in it, its request in flight, and any conflict. */
export interface EditorState<T> {
  readonly selection: Selection<T>;
  readonly busy: Busy;
  readonly conflict: Conflict<T> | undefined;
}

export function selectedId<T>(selection: Selection<T>): number | undefined {
  return selection.status === "none" ? undefined : selection.id;
}

export function selectedValue<T>(selection: Selection<T>): T | undefined {
  return selection.status === "ready" ? selection.value : undefined;
}
