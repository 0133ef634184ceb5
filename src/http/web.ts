import { existsSync, readFileSync } from "node:fs";
import { join, sep } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { webDistPath } from "../paths.js";

/** Paths the single-page app draws itself; a reload or a shared link on them gets the app. */
const APP_ROUTES =
  /^\/((people(\/[1-9][0-9]*(\/notes(\/[1-9][0-9]*)?)?)?)|trash|sign-in|sign-up|invite|account|webhooks)?\/?$/;

export interface WebApp {
  /** Answers a GET for a page path with the app's index.html, if it is built; false otherwise. */
  sendPage(request: FastifyRequest, reply: FastifyReply): boolean;
}

export async function registerWebApp(app: FastifyInstance, root = webDistPath): Promise<WebApp> {
  const indexPath = join(root, "index.html");
  if (!existsSync(indexPath)) {
    app.log.warn({ root }, "web app is not built; run `npm run build` to serve it");
    return { sendPage: () => false };
  }
  const index = readFileSync(indexPath);
  // One route per built file (wildcard: false): any other path goes straight to the not-found
  // handler without touching the file system. Hashed asset names never change content, so they
  // may be cached for good.
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    index: false,
    wildcard: false,
    cacheControl: false,
    setHeaders(reply, path) {
      if (path.includes(`${sep}assets${sep}`)) reply.header("cache-control", "public, max-age=31536000, immutable");
    },
  });
  const sendIndex = (reply: FastifyReply, status: number) =>
    reply.code(status).type("text/html; charset=utf-8").header("cache-control", "no-cache").send(index);
  // The home page is a page path like the others, not a file.
  app.get("/", async (_request, reply) => sendIndex(reply, 200));
  return {
    sendPage(request, reply) {
      if (request.method !== "GET" && request.method !== "HEAD") return false;
      const path = request.url.split("?", 1)[0] ?? "";
      const known = APP_ROUTES.test(path);
      if (!known && !(request.headers.accept ?? "").includes("text/html")) return false;
      sendIndex(reply, known ? 200 : 404);
      return true;
    },
  };
}
