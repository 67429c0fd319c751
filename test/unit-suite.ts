/**
 * Every unit test file, in this one process. `npm test` runs this instead of
 * one process per file: node and tsx start once, not sixty times (about 50 s
 * of a 2-core machine). A unit file still runs alone with
 * `node --import tsx --test test/unit/<name>.test.ts`.
 */
import { readdirSync } from "node:fs";

const dir = new URL("./unit/", import.meta.url);
for (const name of readdirSync(dir).filter((n) => n.endsWith(".test.ts")).sort()) {
  await import(new URL(name, dir).href);
}
