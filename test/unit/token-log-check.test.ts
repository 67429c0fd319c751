import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findTokens, formatReport, MASK, scanLogDir } from "../helpers/token-log-check.js";

/** A token as src/auth makes one: `smt_` and 32 random bytes in base64url (43 characters). */
const token = () => `smt_${randomBytes(32).toString("base64url")}`;

test("token log check - a fixture log holding a token fails the check, reported by file and line with the token masked", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-log-check-"));
  try {
    const secret = token();
    await writeFile(join(dir, "clean.log"), '{"level":30,"msg":"wrote the first operator token to /d/admin-token"}\n');
    await writeFile(join(dir, "serve.log"), `starting\n{"level":30,"msg":"request","authorization":"Bearer ${secret}"}\nstopped\n`);
    const { files, hits } = await scanLogDir(dir);
    assert.equal(files, 2);
    assert.deepEqual(hits, [{ file: join(dir, "serve.log"), line: 2, masked: `{"level":30,"msg":"request","authorization":"Bearer ${MASK}"}` }]);
    const report = formatReport(dir, files, hits).join("\n");
    assert.ok(!report.includes(secret.slice(4)), "the report must not hold the token");
    assert.match(report, /serve\.log:2: .*Bearer smt_<masked>/);
    assert.match(report, /token log check: FAILED, 1 log lines hold an admin token/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("token log check - logs without tokens pass, and so do near misses (too short, too long, another prefix)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-log-check-"));
  try {
    const body = token().slice(4);
    await writeFile(join(dir, "a.log"), `smt_${body.slice(1)}\nsmt_${body}x\nsmx_${body}\ntoken smt_<masked>\n`);
    const { files, hits } = await scanLogDir(dir);
    assert.deepEqual(hits, []);
    assert.deepEqual(formatReport(dir, files, hits), [`token log check: ok, no admin token in 1 log files (${dir})`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("token log check - every token of a line is masked, and tokens at the start and end of a line are found", () => {
  const line = `${token()} then ${token()}`;
  assert.deepEqual(findTokens("f", `x\n${line}`), [{ file: "f", line: 2, masked: `${MASK} then ${MASK}` }]);
});
