/**
 * The README's table of contents, made from its `##` and `###` headings with
 * GitHub's anchors. Run `node --import tsx test/helpers/readme-toc.ts` to
 * print it; test/unit/readme.test.ts fails when the README's copy differs.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const TOC_START = "<!-- toc: node --import tsx test/helpers/readme-toc.ts -->";
export const TOC_END = "<!-- /toc -->";

export interface Heading {
  readonly level: number;
  readonly text: string;
  readonly anchor: string;
}

/** The headings outside code fences, each with the anchor GitHub gives it (duplicates get -1, -2, …); anchors count every level. */
export function headings(markdown: string): Heading[] {
  const seen = new Map<string, number>();
  const found: Heading[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const match = fenced ? null : /^(#{1,6}) (.+?)\s*#*\s*$/.exec(line);
    if (!match) continue;
    const base = githubAnchor(match[2]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.push({ level: match[1]!.length, text: match[2]!, anchor: count === 0 ? base : `${base}-${count}` });
  }
  return found;
}

/** GitHub's rule: lower case; drop everything but letters, digits, spaces, `-` and `_`; spaces become `-`. */
export function githubAnchor(heading: string): string {
  const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
  return text.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** The lines between TOC_START and TOC_END. */
export function tableOfContents(markdown: string): string[] {
  return headings(markdown)
    .filter((h) => h.level === 2 || h.level === 3)
    .map((h) => `${"  ".repeat(h.level - 2)}- [${h.text}](#${h.anchor})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  process.stdout.write(`${[TOC_START, ...tableOfContents(readme), TOC_END].join("\n")}\n`);
}
