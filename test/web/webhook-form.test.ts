import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import {
  checkDraft,
  checkRevision,
  inputOf,
  WEBHOOK_EVENT_KINDS,
  type WebhookDraft,
} from "../../web/src/model/webhooks.js";
import { spec } from "../support/contract.js";

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, "contract");
const validInput = ajv.getSchema("contract#/components/schemas/WebhookInput");
const validRevision = ajv.getSchema("contract#/components/schemas/Revision");

const draft = (changes: Partial<WebhookDraft>): WebhookDraft => ({
  url: "https://example.com/hooks",
  events: ["note.created"],
  personId: "",
  ...changes,
});

/**
 * The webhook form's checks, run without a browser: what it lets through the contract accepts,
 * and what the contract refuses it says before anything is sent (the server alone knows which
 * addresses are private).
 */
describe("the webhook form", () => {
  test("offers every kind of change the contract names, and an endpoint may ask for all of them", () => {
    assert.deepEqual(
      [...WEBHOOK_EVENT_KINDS],
      (spec.components as { schemas: Record<string, { enum?: string[] }> }).schemas.WebhookEventKind?.enum,
    );
    const input = inputOf(draft({ events: [...WEBHOOK_EVENT_KINDS].reverse() }), true);
    assert.deepEqual(input.events, [...WEBHOOK_EVENT_KINDS], "in the contract's order");
    assert.ok(validInput?.(input), ajv.errorsText(validInput?.errors));
  });

  test("what it lets through, the contract accepts", () => {
    assert.ok(validInput);
    for (const each of [
      draft({}),
      draft({ url: "  http://127.0.0.1:8080/hook  " }),
      draft({ personId: "3" }),
      draft({ personId: " 42 " }),
      draft({ url: `https://example.com/${"a".repeat(2000)}` }),
    ]) {
      assert.deepEqual(checkDraft(each), {}, JSON.stringify(each));
      const input = inputOf(each, false);
      assert.ok(validInput(input), `${JSON.stringify(input)}: ${ajv.errorsText(validInput.errors)}`);
    }
    assert.equal(inputOf(draft({}), true).person_id, null, "empty is everyone's changes");
  });

  test("what the contract refuses, it says which field is wrong", () => {
    assert.ok(validInput);
    for (const [changes, field] of [
      [{ url: "" }, "url"],
      [{ url: "   " }, "url"],
      [{ url: "ftp://example.com/hook" }, "url"],
      [{ url: "example.com/hook" }, "url"],
      [{ url: "https://example.com/a hook" }, "url"],
      [{ url: `https://example.com/${"a".repeat(2048)}` }, "url"],
      [{ events: [] }, "events"],
      [{ personId: "0" }, "personId"],
      [{ personId: "-1" }, "personId"],
      [{ personId: "1.5" }, "personId"],
      [{ personId: "Ada" }, "personId"],
      [{ personId: "99999999999999999999" }, "personId"],
    ] as const) {
      const each = draft(changes);
      assert.deepEqual(Object.keys(checkDraft(each)), [field], JSON.stringify(changes));
      const sent = {
        url: each.url,
        events: each.events,
        ...(each.personId === "" ? {} : { person_id: Number(each.personId) }),
      };
      assert.equal(validInput(sent), false, `the contract refuses ${JSON.stringify(changes)} too`);
    }
  });

  test("a revision to replay from: it takes what the contract's Revision takes, up to its maximum", () => {
    assert.ok(validRevision);
    for (const [text, number] of [
      ["0", 0],
      [" 42 ", 42],
      ["999999999999999", 999999999999999],
    ] as const) {
      assert.equal(checkRevision(text), undefined, JSON.stringify(text));
      assert.equal(validRevision(number), true, `the contract takes ${number}`);
    }
    assert.equal(validRevision(1000000000000000), false, "the contract refuses one past its maximum");
    for (const text of ["1000000000000000", "-1", "1.5", "", "seven"]) {
      assert.ok(checkRevision(text), `${JSON.stringify(text)} is refused`);
    }
  });
});
