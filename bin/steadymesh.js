#!/usr/bin/env node
// The CLI runs from the compiled output, built by `npm install` / `npm ci` through `prepare`.
import "../dist/cli/bin.js";
