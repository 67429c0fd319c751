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

test("readme - the set-up's apt-get line and table name exactly the Debian packages .ci/run installs", () => {
  const ci = readFileSync(new URL("../../.ci/run", import.meta.url), "utf8");
  const listed = /^DEBIAN_PACKAGES=\(([^)]*)\)/m.exec(ci)?.[1]?.trim().split(/\s+/);
  assert.ok(listed && listed.length > 0, ".ci/run has no DEBIAN_PACKAGES=(…) line");
  const setUp = README.slice(README.indexOf("## Set-up"), README.indexOf("## Quickstart"));
  const apt = /^sudo apt-get update && sudo apt-get install -y (.+)$/m.exec(setUp)?.[1]?.trim().split(/\s+/);
  assert.deepEqual(apt, listed, "the apt-get line");
  const inTable = [...setUp.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!));
  assert.deepEqual([...inTable].sort(), [...listed].sort(), "the table of what needs each package");
});
