/**
 * What the domain's services are configured with, and their defaults: kept apart from the services
 * so that reading the configuration loads none of them (nor the password lists, Markdown renderer
 * or webhook signer they bring).
 */

export type SignUp = "invite" | "open";

export interface AccountSettings {
  /** SESSION_IDLE_DAYS: a session unused this long is over. */
  idleDays: number;
  /** SESSION_MAX_DAYS: a session is over this long after sign-in, used or not. */
  maxDays: number;
  /** SIGN_UP: accounts from invites only, or anyone may make their own person and account. */
  signUp: SignUp;
  /**
   * PUBLIC_URL: where the app is reached, for invite links and the origin writes must come from;
   * unset, the host each request names.
   */
  publicUrl?: string;
}

export const DEFAULT_ACCOUNT_SETTINGS: AccountSettings = {
  idleDays: 14,
  maxDays: 90,
  signUp: "invite",
};

export interface Retention {
  /** At most this many of the newest changes are kept… */
  changes: number;
  /** …and none older than this. */
  hours: number;
}

export interface FeedSettings {
  /** How often the table is read when no signal says to (the only way on SQLite with several processes). */
  pollMs: number;
  retention: Retention;
  /** How often old changes are pruned. */
  pruneEveryMs: number;
}

export const DEFAULT_FEED_SETTINGS: FeedSettings = {
  pollMs: 250,
  retention: { changes: 100_000, hours: 24 },
  pruneEveryMs: 60_000,
};

/** How much of a note's history is kept. */
export interface HistorySettings {
  /** HISTORY_MAX_VERSIONS: the newest this many replaced versions of each note; 0 keeps them all. */
  maxVersions: number;
}

export const DEFAULT_HISTORY: HistorySettings = { maxVersions: 0 };

/** How long the trash keeps what was deleted. */
export interface TrashSettings {
  /** TRASH_RETENTION_DAYS: an entry is purged this many days after it was deleted. */
  retentionDays: number;
}

export const DEFAULT_TRASH: TrashSettings = { retentionDays: 30 };

export interface WebhookSettings {
  /** WEBHOOK_ALLOW_PRIVATE: send to loopback, private and link-local addresses too. */
  allowPrivate: boolean;
  /** WEBHOOK_TIMEOUT_MS: one attempt, from its start until the answer is read. */
  timeoutMs: number;
  /** WEBHOOK_CONNECT_TIMEOUT_MS: one attempt, until its connection is made. */
  connectTimeoutMs: number;
  /** WEBHOOK_RETRY_HOURS, in ms: how long one change is retried before the endpoint is disabled. */
  retryForMs: number;
  /** WEBHOOK_RETRY_BASE_MS: the pause after the first failure; it doubles with each one after… */
  retryBaseMs: number;
  /** …up to this (WEBHOOK_RETRY_MAX_MS). */
  retryMaxMs: number;
  /** How often each process looks for endpoints with changes to send or retries due. */
  pollMs: number;
  /** Endpoints one process delivers for at once. */
  concurrency: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  allowPrivate: false,
  timeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  retryForMs: 24 * 3_600_000,
  retryBaseMs: 5_000,
  retryMaxMs: 3_600_000,
  pollMs: 1_000,
  concurrency: 8,
};
