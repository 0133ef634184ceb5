#!/usr/bin/env node
// Runs several test files in this one process, one after another as they load: node:test collects
// the tests of every file imported here and reports them together. scripts/test.mjs starts one of
// these per group of small test files (see GROUPED there), so that the cost of a test process
// (Node, tsx, the app's modules, the first compiles) is paid once per group instead of once per file.
//
//   node --import tsx --test-reporter=spec scripts/test-group.mjs test/api/a.test.ts test/db/b.test.ts
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

for (const file of process.argv.slice(2)) await import(pathToFileURL(resolve(file)).href);
