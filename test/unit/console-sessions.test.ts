/** The console's pieces apart from HTTP: the session book, its cookie, the login limiter, the static file rules. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import {
  clearedSessionCookie,
  contentTypeOf,
  createLoginLimiter,
  createSessionBook,
  csrfMatches,
  defaultUiDir,
  readAsset,
  readLabReportFile,
  sessionCookie,
  sessionIdOf,
} from "../../src/console/index.js";
import { SteadyError } from "../../src/errors/index.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "ok";
  } catch (err) {
    return err instanceof SteadyError ? err.code : String(err);
  }
};

describe("console sessions", () => {
  it("console sessions - ids and CSRF tokens are 32 random bytes, base64url; a session lives 8 h; the 10,001st drops the oldest", () => {
    const clock = createFakeClock(0);
    const book = createSessionBook({ clock, maxSessions: 3 });
    const a = book.open("smt_a");
    const b = book.open("smt_b");
    assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
    assert.match(a.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(new Set([a.id, a.csrf, b.id, b.csrf]).size, 4);
    assert.equal(book.get(a.id)?.token, "smt_a");
    book.open("smt_c");
    book.open("smt_d");
    assert.equal(book.size, 3);
    assert.equal(book.get(a.id), undefined, "the oldest was dropped");
    assert.equal(book.get(b.id)?.token, "smt_b");
    clock.advance(8 * 3600_000 - 1);
    assert.ok(book.get(b.id));
    clock.advance(1);
    assert.equal(book.get(b.id), undefined, "8 h old: gone");
    assert.equal(book.size, 2);
    const c = book.open("smt_e");
    book.close(c.id);
    assert.equal(book.get(c.id), undefined);
    assert.equal(createSessionBook().open("x").token, "x", "the default bounds work too");
  });

  it("console sessions - the CSRF compare takes exactly the session's token", () => {
    const session = createSessionBook().open("smt_a");
    assert.ok(csrfMatches(session, session.csrf));
    for (const wrong of [undefined, "", session.csrf.slice(1), `${session.csrf}x`, session.csrf.toLowerCase() === session.csrf ? "x" : session.csrf.toLowerCase()]) {
      assert.equal(csrfMatches(session, wrong), false, String(wrong));
    }
  });

  it("console sessions - the cookie: found among others, ignored when misshapen; set with HttpOnly, SameSite=Strict, Secure only when asked", () => {
    const id = "A".repeat(43);
    assert.equal(sessionIdOf(`theme=dark; steadymesh_session=${id}; other=1`), id);
    assert.equal(sessionIdOf(`steadymesh_session=${id}`), id);
    assert.equal(sessionIdOf(undefined), undefined);
    assert.equal(sessionIdOf("steadymesh_session=short"), undefined);
    assert.equal(sessionIdOf(`xsteadymesh_session=${id}`), undefined);
    assert.equal(sessionIdOf(`steadymesh_session=${id}!`), undefined);
    assert.equal(sessionCookie(id, { secure: false, maxAgeSeconds: 28800 }), `steadymesh_session=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800`);
    assert.match(sessionCookie(id, { secure: true, maxAgeSeconds: 28800 }), /; Secure$/);
    assert.match(clearedSessionCookie({ secure: false }), /^steadymesh_session=; .*Max-Age=0$/);
  });

  it("console sessions - failed logins: the 11th in a minute from one address waits; other addresses do not; the window ends", () => {
    const clock = createFakeClock(0);
    const limiter = createLoginLimiter({ clock });
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.retryAfterMs("10.0.0.1"), 0, `attempt ${i + 1}`);
      limiter.recordFailure("10.0.0.1");
      clock.advance(1000);
    }
    assert.equal(limiter.retryAfterMs("10.0.0.1"), 50_000);
    assert.equal(limiter.retryAfterMs("10.0.0.2"), 0);
    clock.advance(50_000);
    assert.equal(limiter.retryAfterMs("10.0.0.1"), 0);
  });
});

describe("console files", () => {
  it("console files - dist/ui is found from the package root named steadymesh, from anywhere below it", () => {
    const root = mkdtempSync(join(tmpdir(), "console-root-"));
    try {
      writeFileSync(join(root, "package.json"), JSON.stringify({ name: "steadymesh" }));
      mkdirSync(join(root, "dist", "src", "console"), { recursive: true });
      mkdirSync(join(root, "node_modules", "x"), { recursive: true });
      writeFileSync(join(root, "node_modules", "x", "package.json"), JSON.stringify({ name: "x" }));
      assert.equal(defaultUiDir(pathToFileURL(join(root, "dist", "src", "console", "static-files.js")).href), join(root, "dist", "ui"));
      assert.equal(defaultUiDir(pathToFileURL(join(root, "node_modules", "x", "index.js")).href), join(root, "dist", "ui"), "walks past other packages");
      assert.match(defaultUiDir() ?? "", /dist[/\\]ui$/, "this checkout's");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("console files - assets: only regular files directly in assets/, with their content types; anything else is not-found", async () => {
    const ui = mkdtempSync(join(tmpdir(), "console-ui-"));
    try {
      mkdirSync(join(ui, "assets", "sub"), { recursive: true });
      writeFileSync(join(ui, "assets", "app.js"), "console.log(1)");
      writeFileSync(join(ui, "assets", ".hidden"), "x");
      writeFileSync(join(ui, "secret.txt"), "secret");
      symlinkSync(join(ui, "secret.txt"), join(ui, "assets", "link.txt"));
      const app = await readAsset(ui, "app.js");
      assert.equal(app.body.toString(), "console.log(1)");
      assert.equal(app.type, "text/javascript; charset=utf-8");
      for (const bad of ["../secret.txt", "..", ".", ".hidden", "sub", "link.txt", "a/b", "a\\b", "", "missing.js", "x".repeat(300)]) {
        assert.equal(await codeOf(readAsset(ui, bad)), "not-found", JSON.stringify(bad));
      }
      assert.equal(contentTypeOf("app.css"), "text/css; charset=utf-8");
      assert.equal(contentTypeOf("index.html"), "text/html; charset=utf-8");
      assert.equal(contentTypeOf("report.png"), "image/png");
      assert.equal(contentTypeOf("report.svg"), "image/svg+xml");
      assert.equal(contentTypeOf("blob.bin"), "application/octet-stream");
    } finally {
      rmSync(ui, { recursive: true, force: true });
    }
  });

  it("console files - lab report files: the four report files of a named directory; bad names are invalid, missing ones not found", async () => {
    const dir = mkdtempSync(join(tmpdir(), "console-lab-"));
    try {
      mkdirSync(join(dir, "spotify-2022-03-08"));
      writeFileSync(join(dir, "spotify-2022-03-08", "report.html"), "<p>pass</p>");
      writeFileSync(join(dir, "secret.txt"), "secret");
      assert.equal((await readLabReportFile(dir, "spotify-2022-03-08", "report.html")).body.toString(), "<p>pass</p>");
      assert.equal(await codeOf(readLabReportFile(dir, "spotify-2022-03-08", "report.png")), "not-found");
      assert.equal(await codeOf(readLabReportFile(dir, "nothing", "report.html")), "not-found");
      for (const [name, file] of [["..", "report.html"], [".", "report.html"], ["a..b", "report.html"], ["a/b", "report.html"], ["", "report.html"], ["x".repeat(101), "report.html"], [".", "secret.txt"], ["spotify-2022-03-08", "../secret.txt"]]) {
        assert.equal(await codeOf(readLabReportFile(dir, name!, file!)), "invalid-argument", `${name}/${file}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
