#!/usr/bin/env node
import { runCommandLine } from "./cli/main.js";

runCommandLine(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
