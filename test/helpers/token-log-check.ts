/**
 * The suite's check that no admin token reached a log (issue 16): scans
 * every file of the log dir test/run.sh collects (test/helpers/test-logs.ts)
 * for the token format, `smt_` and 43 base64url characters, and reports each
 * hit by file and line with the token masked: the report must not become a
 * leak of its own.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** An admin token (src/auth): `smt_` and 43 base64url characters (256 bits), not part of a longer base64url run. */
export const TOKEN_PATTERN = /(?<![A-Za-z0-9_-])smt_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
/** What a token becomes in the report. */
export const MASK = "smt_<masked>";
/** A reported line is cut to this many characters (after masking). */
const LINE_CHARS = 240;

export interface TokenHit {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** The line with every token replaced by MASK, cut to LINE_CHARS. */
  readonly masked: string;
}

/** Every line of `text` that holds a token, masked. */
export function findTokens(file: string, text: string): TokenHit[] {
  const hits: TokenHit[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes("smt_")) continue;
    const masked = line.replace(TOKEN_PATTERN, MASK);
    if (masked !== line) hits.push({ file, line: i + 1, masked: masked.length > LINE_CHARS ? `${masked.slice(0, LINE_CHARS)}…` : masked });
  }
  return hits;
}

/** Scans every file directly in `dir`. */
export async function scanLogDir(dir: string): Promise<{ files: number; hits: TokenHit[] }> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  const hits: TokenHit[] = [];
  for (const name of names) hits.push(...findTokens(join(dir, name), await readFile(join(dir, name), "utf8")));
  return { files: names.length, hits };
}

/** The report's lines: one per hit, then a verdict. */
export function formatReport(dir: string, files: number, hits: readonly TokenHit[]): string[] {
  if (hits.length === 0) return [`token log check: ok, no admin token in ${files} log files (${dir})`];
  return [
    ...hits.map((h) => `${h.file}:${h.line}: ${h.masked}`),
    `token log check: FAILED, ${hits.length} log lines hold an admin token (masked above) in ${dir}`,
  ];
}
