import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { compileContract, loadContract, loadSpec, readCompiledContract } from "../../src/contract/document.js";
import { specPath } from "../../src/paths.js";

/**
 * The server starts from openapi/contract.json, which `npm run gen` makes from openapi.yaml with
 * fastify-openapi-glue; it must be what the glue makes of the YAML now, and one made from another
 * YAML must not be used.
 */
describe("the contract the server starts from", () => {
  const yaml = readFileSync(specPath, "utf8");
  const folder = mkdtempSync(join(tmpdir(), "contract-"));
  after(() => rmSync(folder, { recursive: true, force: true }));

  test("is what fastify-openapi-glue makes of openapi.yaml: every operation a route", async () => {
    const made = await compileContract(yaml);
    assert.deepEqual(await loadContract(), made);
    assert.deepEqual(loadSpec().document, made.document);
    const operations = Object.values(made.document.paths).flatMap((item) =>
      Object.values(item).map((operation) => (operation as { operationId?: string }).operationId),
    );
    assert.deepEqual(made.routes.map((route) => route.operationId).sort(), operations.sort());
    const readOne = made.routes.find((route) => route.operationId === "people.read_one");
    assert.deepEqual(
      {
        method: readOne?.method,
        url: readOne?.url,
        parts: Object.keys(readOne?.schema ?? {}).filter((k) => k !== "tags"),
      },
      { method: "GET", url: "/people/:person_id", parts: ["summary", "operationId", "params", "headers", "response"] },
    );
  });

  test("made from another openapi.yaml, is not used", async () => {
    const path = join(folder, "contract.json");
    const made = await compileContract(yaml);
    writeFileSync(path, JSON.stringify(made));
    assert.deepEqual(readCompiledContract(yaml, path), made);
    assert.equal(readCompiledContract(`${yaml}\n# edited\n`, path), undefined);
    assert.equal(readCompiledContract(yaml, join(folder, "missing.json")), undefined);
  });

  test("is refused when it is not valid OpenAPI", async () => {
    const broken = yaml.replace(/^info:/m, "information:");
    assert.notEqual(broken, yaml);
    await assert.rejects(compileContract(broken), /valid specification/);
  });
});
