import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import { openStore, type Store } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/setup.js";

const INDEX = "<!doctype html><title>People &amp; Notes</title>";

describe("serving the web app", () => {
  const root = mkdtempSync(join(tmpdir(), "people-notes-web-"));
  let store: Store;
  let app: FastifyInstance;

  before(async () => {
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), INDEX);
    writeFileSync(join(root, "assets", "main-abc123.js"), "console.log('app')");
    writeFileSync(join(root, "favicon.svg"), "<svg/>");
    store = openStore({ engine: "sqlite", path: ":memory:" });
    await prepareDatabase(store);
    app = await buildApp({ store, webRoot: root });
  });

  after(async () => {
    await app.close();
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string, accept = "text/html") => app.inject({ method: "GET", url, headers: { accept } });

  test("every page path of the app answers 200 with index.html, never cached", async () => {
    for (const path of [
      "/",
      "/people",
      "/people/2",
      "/people/2/notes",
      "/people/2/notes/5",
      "/people/",
      "/sign-in",
      "/sign-up",
      "/invite",
      "/account",
      "/webhooks",
    ]) {
      const response = await get(path);
      assert.equal(response.statusCode, 200, path);
      assert.equal(response.body, INDEX);
      assert.match(String(response.headers["content-type"]), /^text\/html/);
      assert.equal(response.headers["cache-control"], "no-cache");
    }
  });

  test("other paths a browser asks for get the app with 404, so it can say the page does not exist", async () => {
    for (const path of [
      "/nope",
      "/people/abc",
      "/people/0",
      "/people/1/notes/x/y",
      "/account/x",
      "/invites",
      "/webhooks/1",
    ]) {
      const response = await get(path);
      assert.equal(response.statusCode, 404, path);
      assert.equal(response.body, INDEX);
    }
  });

  test("other clients get a 404 problem document", async () => {
    const response = await get("/nope", "application/json");
    assert.equal(response.statusCode, 404);
    assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  });

  test("hashed assets are cached for good; other files are served as they are", async () => {
    const asset = await get("/assets/main-abc123.js", "*/*");
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
    const icon = await get("/favicon.svg", "*/*");
    assert.equal(icon.statusCode, 200);
    assert.equal(icon.headers["cache-control"], undefined);
  });

  test("a very long path segment is an ordinary 404, inside and outside /api", async () => {
    const long = "a".repeat(300);
    assert.equal((await get(`/${long}`)).statusCode, 404);
    const api = await get(`/api/${long}`, "application/json");
    assert.equal(api.statusCode, 404);
    assert.match(String(api.headers["content-type"]), /^application\/problem\+json/);
    assert.equal((await get(`/assets/${long}.js`, "*/*")).statusCode, 404);
  });
});
