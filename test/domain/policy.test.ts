import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProblemError } from "../../src/domain/errors.js";
import {
  ANONYMOUS,
  type Caller,
  callerFor,
  mayChangeNote,
  mayChangePerson,
  mayCreatePerson,
  mayDeletePerson,
  mayWriteNoteFor,
  permit,
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
});
