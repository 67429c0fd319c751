import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { githubAnchor, headings, tableOfContents, TOC_END, TOC_START } from "../helpers/readme-toc.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

test("readme - the table of contents lists every ## and ### heading, in order (regenerate: node --import tsx test/helpers/readme-toc.ts)", () => {
  const start = README.indexOf(TOC_START);
  const end = README.indexOf(TOC_END);
  assert.ok(start >= 0 && end > start, "README.md has no table of contents between the toc markers");
  const shown = README.slice(start + TOC_START.length, end).trim().split("\n");
  assert.deepEqual(shown, tableOfContents(README));
});

test("readme - every #anchor link names a heading", () => {
  const anchors = new Set(headings(README).map((h) => h.anchor));
  const links = [...README.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]!);
  assert.ok(links.length > 20, `only ${links.length} anchor links found`);
  assert.deepEqual(links.filter((link) => !anchors.has(link)), []);
});

test("readme - anchors follow GitHub's rule", () => {
  assert.equal(githubAnchor("The `steady:` resolver"), "the-steady-resolver");
  assert.equal(githubAnchor("The `@steadymesh/client` package"), "the-steadymeshclient-package");
  assert.equal(githubAnchor("What the profiles said, and what changed"), "what-the-profiles-said-and-what-changed");
  assert.equal(githubAnchor("Set-up"), "set-up");
  assert.deepEqual(headings("## A\n```\n## not a heading\n```\n## A\n").map((h) => h.anchor), ["a", "a-1"]);
});
