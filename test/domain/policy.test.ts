import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProblemError } from "../../src/domain/errors.js";
import {
  ANONYMOUS,
  type Caller,
  callerFor,
  callerForAccount,
  mayChangeNote,
  mayChangePerson,
  mayCreatePerson,
  mayCreateToken,
  mayDeletePerson,
  mayInvite,
  mayManageToken,
  mayPurgeTrash,
  mayReadNote,
  mayReadTrashEntry,
  mayRestoreTrashEntry,
  mayWriteNoteFor,
  permit,
  trashScope,
} from "../../src/domain/policy.js";

const admin: Caller = { kind: "admin", token: "AdminTok" };
const personOne: Caller = { kind: "person", personId: 1, token: "PhoneTok" };
const theirNote = { person_id: 2, note_id: 4 };
const myNote = { person_id: 1, note_id: 3 };

describe("policy", () => {
  test("anonymous (access control off) may do everything", () => {
    assert.equal(mayCreatePerson(ANONYMOUS), true);
    assert.equal(mayChangePerson(ANONYMOUS, 2), true);
    assert.equal(mayDeletePerson(ANONYMOUS, 2), true);
    assert.equal(mayWriteNoteFor(ANONYMOUS, 2), true);
    assert.equal(mayChangeNote(ANONYMOUS, theirNote), true);
  });

  test("an admin may do everything", () => {
    assert.equal(mayCreatePerson(admin), true);
    assert.equal(mayChangePerson(admin, 2), true);
    assert.equal(mayDeletePerson(admin, 2), true);
    assert.equal(mayWriteNoteFor(admin, 2), true);
    assert.equal(mayChangeNote(admin, theirNote), true);
  });

  test("a person changes their own names and notes, and nothing else", () => {
    assert.equal(mayChangePerson(personOne, 1), true);
    assert.equal(mayWriteNoteFor(personOne, 1), true);
    assert.equal(mayChangeNote(personOne, myNote), true);

    assert.equal(mayChangePerson(personOne, 2), false);
    assert.equal(mayWriteNoteFor(personOne, 2), false);
    assert.equal(mayChangeNote(personOne, theirNote), false);
    assert.equal(mayCreatePerson(personOne), false, "adding people is for admins");
    assert.equal(mayDeletePerson(personOne, 1), false, "not even themselves");
  });

  test("a note and its history are read by anyone; restoring a version is changing the note", () => {
    for (const caller of [ANONYMOUS, admin, personOne]) {
      assert.equal(mayReadNote(caller, theirNote), true);
      assert.equal(mayReadNote(caller, myNote), true);
    }
    assert.equal(mayChangeNote(personOne, theirNote), false, "so a person restores only their own notes");
  });

  test("a refusal is a 403 that says what the caller may change", () => {
    assert.doesNotThrow(() => permit(personOne, mayChangeNote(personOne, myNote)));
    assert.throws(
      () => permit(personOne, mayChangeNote(personOne, theirNote)),
      (error: unknown) =>
        error instanceof ProblemError &&
        error.status === 403 &&
        error.detail === "Token PhoneTok may change only person 1 and their notes",
    );
  });

  test("a token's principal becomes its caller", () => {
    const base = { tokenId: 1, name: "n" };
    assert.deepEqual(callerFor({ ...base, prefix: "AdminTok", kind: "admin", personId: null }), admin);
    assert.deepEqual(callerFor({ ...base, prefix: "PhoneTok", kind: "person", personId: 1 }), personOne);
  });

  test("a signed-in account is the caller its kind makes, and its refusals name the account", () => {
    const doug = callerForAccount({ account_id: 7, name: "Doug Farrell", kind: "person", person_id: 1 }, 3);
    assert.deepEqual(doug, {
      kind: "person",
      personId: 1,
      account: { accountId: 7, sessionId: 3, name: "Doug Farrell" },
    });
    const ops = callerForAccount({ account_id: 8, name: "ops", kind: "admin", person_id: null }, 4);
    assert.equal(ops.kind, "admin");
    assert.equal(mayChangeNote(doug, myNote), true);
    assert.equal(mayChangeNote(doug, theirNote), false);
    assert.throws(
      () => permit(doug, mayChangeNote(doug, theirNote)),
      (error: unknown) =>
        error instanceof ProblemError &&
        error.detail === 'Account "Doug Farrell" may change only person 1 and what is theirs',
    );
  });

  test("invites are for admins; a person manages their own person tokens only", () => {
    assert.equal(mayInvite(admin), true);
    assert.equal(mayInvite(ANONYMOUS), true, "access control off: anyone may");
    assert.equal(mayInvite(personOne), false);
    assert.equal(mayManageToken(personOne, { person_id: 1 }), true);
    assert.equal(mayManageToken(personOne, { person_id: 2 }), false);
    assert.equal(mayManageToken(personOne, { person_id: null }), false, "an admin token is not theirs");
    assert.equal(mayManageToken(admin, { person_id: null }), true);
    assert.equal(mayCreateToken(personOne, "person", 1), true);
    assert.equal(mayCreateToken(personOne, "person", 2), false);
    assert.equal(mayCreateToken(personOne, "admin", null), false);
    assert.equal(mayCreateToken(admin, "admin", null), true);
  });

  test("the trash: a person sees and restores their own notes' entries; an admin everything; only an admin purges", () => {
    const mine = { kind: "note", person_id: 1 } as const;
    const theirs = { kind: "note", person_id: 2 } as const;
    const myself = { kind: "person", person_id: 1 } as const;
    assert.equal(trashScope(personOne), 1);
    assert.equal(trashScope(admin), undefined);
    assert.equal(trashScope(ANONYMOUS), undefined);
    assert.equal(mayReadTrashEntry(personOne, mine), true);
    assert.equal(mayReadTrashEntry(personOne, theirs), false);
    assert.equal(mayRestoreTrashEntry(personOne, mine), true);
    assert.equal(mayRestoreTrashEntry(personOne, theirs), false);
    assert.equal(mayRestoreTrashEntry(personOne, myself), false, "only an admin deletes, and so restores, people");
    assert.equal(mayRestoreTrashEntry(admin, myself), true);
    assert.equal(mayRestoreTrashEntry(ANONYMOUS, theirs), true);
    assert.equal(mayPurgeTrash(personOne), false);
    assert.equal(mayPurgeTrash(admin), true);
  });
});
