// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the entries quote source text, placeholders included.
/**
 * One-line bugs planted in the guards, one at a time, by `npm run mutants` (scripts/mutants/run.ts).
 * Each must be caught by the test files named for it. `original` must occur exactly once in `file`;
 * when the code moves, update the entry (the run refuses to start with a stale one).
 */
export interface Mutant {
  /** The bug, said plainly. */
  name: string;
  file: string;
  original: string;
  mutated: string;
  /** The test files to run; they should fail with the bug in place. */
  tests: string[];
  /** The tests run the built code (dist/, through the CLI or a server process): compile it with the bug. */
  build?: boolean;
}

const ACCESS = "test/api/access.test.ts";
const ACCOUNTS = "test/api/accounts.test.ts";
const PASSKEYS = "test/api/passkeys.test.ts";
const CONDITIONAL = "test/api/conditional.test.ts";
const EVENTS = "test/api/events.test.ts";
const HISTORY = "test/api/history.test.ts";
const HISTORY_PROPERTY = "test/api/history-property.test.ts";
const POLICY = "test/domain/policy.test.ts";
const UNIT_OF_WORK = "test/domain/unit-of-work.test.ts";

export const mutants: Mutant[] = [
  // Access
  {
    name: "anyUsable ignores revocation (a revoked token keeps writes closed)",
    file: "src/db/tokens-repository.ts",
    original: `    .selectFrom("token")\n    .where("revoked_at", "is", null)\n`,
    mutated: `    .selectFrom("token")\n`,
    tests: [ACCESS],
  },
  {
    name: "the write rate limit counts per client address, not per token",
    file: "src/http/rate-limits.ts",
    original: "request.principal\n          ? `write:token:${request.principal.tokenId}`",
    mutated: "request.principal\n          ? `write:address:${request.ip}`",
    tests: [ACCESS],
  },
  {
    name: "a person token may change any person",
    file: "src/domain/policy.ts",
    original: `const actsFor = (caller: Caller, personId: number) => caller.kind !== "person" || caller.personId === personId;`,
    mutated: `const actsFor = (caller: Caller, _personId: number) => caller.kind !== "person" || true;`,
    tests: [ACCESS, POLICY],
  },
  {
    name: "the guard lets a person token into an operation only an admin may call (the export)",
    file: "src/http/access.ts",
    original: `if (principal.kind !== "admin" && !roles.includes("owner")) {`,
    mutated: `if (principal.kind !== "admin" && roles.includes("nobody")) {`,
    tests: ["test/api/export.test.ts"],
  },
  {
    name: "the services' policy lets a person do what only an admin may",
    file: "src/domain/policy.ts",
    original: `const isOpen = (caller: Caller) => caller.kind !== "person";`,
    mutated: `const isOpen = (_caller: Caller) => true;`,
    tests: [POLICY],
  },
  {
    name: "an expired token still signs in",
    file: "src/db/tokens-repository.ts",
    original: `    .where("secret_hash", "=", secretHash)\n    .where("revoked_at", "is", null)\n    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)])),`,
    mutated: `    .where("secret_hash", "=", secretHash)\n    .where("revoked_at", "is", null),`,
    tests: [ACCESS],
  },
  {
    name: "on loopback, writes stay open after the first token is made",
    file: "src/http/access.ts",
    original: `return this.mode === "always" || (await this.tokens.anyUsable()) || (await this.accounts.anyCanSignIn());`,
    mutated: `return this.mode === "always" || (await this.accounts.anyCanSignIn());`,
    tests: [ACCESS],
  },

  // Accounts
  {
    name: "a write with the session cookie is taken from any site",
    file: "src/http/session-cookie.ts",
    original: "if (site === undefined && origin === undefined) return false;",
    mutated: "return true;",
    tests: [ACCOUNTS],
  },
  {
    name: "an invite works more than once",
    file: "src/db/accounts-repository.ts",
    original: `    .where("used_at", "is", null)\n    .where("expires_at", ">", now)\n    .returning(inviteColumns),`,
    mutated: `    .where("expires_at", ">", now)\n    .returning(inviteColumns),`,
    tests: [ACCOUNTS],
  },
  {
    name: "an unknown name is told apart from a wrong password",
    file: "src/domain/accounts.ts",
    original: "if (!account || !matches) throw wrongCredentials();",
    mutated:
      'if (!account) throw new ProblemError(401, "Unauthorized", "No such name");\n    if (!matches) throw wrongCredentials();',
    tests: [ACCOUNTS],
  },
  {
    name: "a session is remembered by the process, so ending it elsewhere is not seen",
    file: "src/domain/accounts.ts",
    original: "    if (!live) return undefined;\n    const staleBefore",
    mutated:
      "    if (!live) return undefined;\n    // biome-ignore lint: a planted bug\n    (this as unknown as { live?: LiveSession }).live ??= live;\n    return (this as unknown as { live: LiveSession }).live;\n    const staleBefore",
    tests: [ACCOUNTS],
  },
  {
    name: "a passkey's challenge can be used again",
    file: "src/db/passkeys-repository.ts",
    original: `db.deleteFrom("passkey_challenge").where("challenge_id", "=", challengeId).returning(challengeColumns),`,
    mutated: `db.selectFrom("passkey_challenge").select(challengeColumns).where("challenge_id", "=", challengeId),`,
    tests: [PASSKEYS],
  },

  // Validation
  {
    name: "the body limit shrunk to 16 KiB",
    file: "src/app.ts",
    original: "export const BODY_LIMIT = 128 * 1024;",
    mutated: "export const BODY_LIMIT = 16 * 1024;",
    tests: ["test/api/errors.test.ts", "test/api/notes.test.ts"],
  },
  {
    name: "import skips the note-content whitespace check",
    file: "src/db/transfer/tables.ts",
    original: `    trimmed: ["content"],\n`,
    mutated: "    trimmed: [],\n",
    tests: ["test/cli/export.test.ts"],
    build: true,
  },
  {
    name: "ids such as 01 are taken as integers",
    file: "src/http/validation.ts",
    original: "const CANONICAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;",
    mutated: "const CANONICAL_INTEGER = /^-?[0-9]+$/;",
    tests: ["test/api/errors.test.ts"],
  },
  {
    name: "request values are coerced to the contract's types",
    file: "src/contract/schemas.ts",
    original: "    coerceTypes: false,",
    mutated: "    coerceTypes: true,",
    tests: ["test/api/errors.test.ts", "test/api/people.test.ts"],
  },
  {
    name: "names that differ only in case are different people",
    file: "src/db/names.ts",
    original: `.replace(/\\s+/g, " ").toLowerCase();`,
    mutated: `.replace(/\\s+/g, " ");`,
    tests: ["test/api/people.test.ts"],
  },
  {
    name: "surrounding whitespace is stored",
    file: "src/domain/names.ts",
    original: "export const cleanText = (text: string): string => text.trim();",
    mutated: "export const cleanText = (text: string): string => text;",
    tests: ["test/api/people.test.ts", "test/api/notes.test.ts"],
  },
  {
    name: "a note may be 10,001 characters",
    file: "openapi/openapi.yaml",
    original: "      maxLength: 10000\n",
    mutated: "      maxLength: 10001\n",
    tests: ["test/api/notes.test.ts"],
  },

  // Paging
  {
    name: "a page of exactly `limit` items links to a next page",
    file: "src/domain/paging.ts",
    original: "const more = rows.length > limit;",
    mutated: "const more = rows.length >= limit;",
    tests: ["test/api/paging.test.ts"],
  },
  {
    name: "a cursor with extra parts is accepted",
    file: "src/domain/paging.ts",
    original: "key.length === shape.length &&",
    mutated: "key.length >= shape.length &&",
    tests: ["test/api/cursors.test.ts"],
  },
  {
    name: "a cursor naming id 0 is accepted",
    file: "src/domain/paging.ts",
    original: `id: (part) => typeof part === "number" && Number.isSafeInteger(part) && part >= 1,`,
    mutated: `id: (part) => typeof part === "number" && Number.isSafeInteger(part) && part >= 0,`,
    tests: ["test/api/cursors.test.ts"],
  },

  // Conditional requests
  {
    name: "If-Match with several tags is compared against the first only",
    file: "src/domain/etags.ts",
    original: "  return tags.includes(current);",
    mutated: "  return tags[0] === current;",
    tests: [CONDITIONAL],
  },
  {
    name: "If-None-Match compares weak tags strongly (a list's weak tag never gives 304)",
    file: "src/domain/etags.ts",
    original: `const opaque = (tag: string) => tag.replace(/^W\\//, "");`,
    mutated: "const opaque = (tag: string) => tag;",
    tests: [CONDITIONAL],
  },
  {
    name: "a person's ETag ignores edits to their embedded notes",
    file: "src/domain/etags.ts",
    original: 'const embedded = notes.map((note) => `${note.note_id}:${note.version}`).join(",");',
    mutated: 'const embedded = notes.map((note) => `${note.note_id}`).join(",");',
    tests: [CONDITIONAL],
  },
  {
    name: "a note's change (an edit, a restore or a delete) ignores If-Match",
    file: "src/domain/notes.ts",
    original: "if (ifMatch !== undefined && !matchesIfMatch(ifMatch, etag)) {",
    mutated: "if (ifMatch === null && !matchesIfMatch(ifMatch, etag)) {",
    tests: [CONDITIONAL, HISTORY],
  },
  {
    name: "a note's change reads the note without locking it (on PostgreSQL a racing edit then fails)",
    file: "src/db/notes-repository.ts",
    original: '.forNoKeyUpdate("note"),',
    mutated: ",",
    tests: [HISTORY],
  },
  {
    name: "a note's change keeps no version in its history (SQLite)",
    file: "src/db/note-revisions-repository.ts",
    original: "    if (changed) {\n      await insertPair.run(",
    mutated: "    if (!changed) {\n      await insertPair.run(",
    tests: [HISTORY, HISTORY_PROPERTY],
  },
  {
    name: "REQUIRE_IF_MATCH lets a write without If-Match through",
    file: "src/api/conditional.ts",
    original: "if (value === undefined && preconditions.ifMatchRequired) {",
    mutated: "if (value === null && preconditions.ifMatchRequired) {",
    tests: [CONDITIONAL],
  },

  // Change feed
  {
    name: "a committed change is never announced (streams wait for the next poll)",
    file: "src/domain/unit-of-work.ts",
    original: "    if (recorded > 0) this.announcer.committed();\n",
    mutated: "",
    tests: [UNIT_OF_WORK],
  },
  {
    name: "every transaction is announced, whether it recorded a change or not",
    file: "src/domain/unit-of-work.ts",
    original: "    if (recorded > 0) this.announcer.committed();\n",
    mutated: "    this.announcer.committed();\n",
    tests: [UNIT_OF_WORK],
  },
  {
    name: "the change feed's retention bound is off by one (one change fewer kept)",
    file: "src/db/changes/repository.ts",
    original: 'sql<number>`${inner.fn.max("revision")} - ${keepChanges}`',
    mutated: 'sql<number>`${inner.fn.max("revision")} - ${keepChanges} + 1`',
    tests: [EVENTS],
  },
  {
    name: "a stream for one person gets everyone's changes",
    file: "src/http/event-stream.ts",
    original: "filter.personId === undefined || event.personId === filter.personId;",
    mutated: "filter.personId === undefined || event.personId !== undefined;",
    tests: [EVENTS],
  },
  {
    name: "a revision this database never reached resumes quietly instead of reload",
    file: "src/domain/changes.ts",
    original: "return since > (await newestRevision(this.store)) ? { reload: true } : { missed: [] };",
    mutated: "return { missed: [] };",
    tests: [EVENTS],
  },
  {
    name: "Last-Event-ID is ignored (a reconnecting browser starts from now)",
    file: "src/api/events.ts",
    original: `const from = typeof lastEventId === "string" ? revisionOf(lastEventId) : since;`,
    mutated: "const from = since;",
    tests: [EVENTS],
  },
];
