#!/usr/bin/env node
// The CLI runs from the compiled output (built by `npm install` through `prepare`).
import { main } from "../dist/cli/index.js";

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`steadymesh: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
