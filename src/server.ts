// The process entry (`node dist/server.js`, `npm start`): serves as the environment configures it.
// What serving is lives in src/service.ts, which `people-notes serve` runs too: this file only starts
// it, so that the two entry points share every module rather than one importing the other's entry.
import { serveOrExit } from "./service.js";

await serveOrExit();
