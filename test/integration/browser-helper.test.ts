import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import type { BrowserContext } from "playwright-core";
import { axeScan, launchBrowser, login, waitReady, type ConsoleBrowser } from "../helpers/browser.js";

/**
 * The console test's browser helper (test/helpers/browser.ts) against pages
 * of its own, served by node:http with the console's Content-Security-Policy
 * (docs: console contract, section C): axe gets into a page whose CSP refuses
 * inline and injected scripts, and finds what it should.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const page = (body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>test page</title><script src="/app.js" defer></script></head><body>${body}</body></html>`;
const PAGES: Record<string, string> = {
  "/clean": page(`<main><h1>Clean</h1><p>Nothing wrong here.</p></main>`),
  "/broken": page(`<main data-ready="true"><h1>Broken</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button></main>`),
  "/ui/login": page(`<main data-ready="true"><h1>Log in</h1><form aria-label="Log in"><label for="t">Admin token</label><input id="t" type="password"><button>Log in</button></form><div role="alert"></div></main>`),
};
/** Marks /clean ready after 300 ms; the login form takes "good" and refuses anything else. */
const APP = `
if (location.pathname === "/clean") setTimeout(() => document.querySelector("main").dataset.ready = "true", 300);
const form = document.querySelector("form");
form?.addEventListener("submit", (e) => {
  e.preventDefault();
  if (document.getElementById("t").value === "good") form.remove();
  else document.querySelector('[role="alert"]').textContent = "unknown or expired token";
});`;

let server: Server;
let base = "";
let browser: ConsoleBrowser;
let context: BrowserContext;

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/app.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(APP);
    const html = PAGES[path];
    if (!html) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await launchBrowser();
  context = await browser.newContext();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

test("browser helper - waitReady answers the ms from navigation start to main[data-ready]", async () => {
  const p = await context.newPage();
  await p.goto(`${base}/clean`);
  const ms = await waitReady(p);
  assert.ok(ms >= 300 && ms < 5000, `ready after ${ms} ms; the page marks itself ready 300 ms after its script ran`);
  assert.deepEqual(p.viewportSize(), { width: 1280, height: 800 });
  await p.close();
});

test("browser helper - axe runs under the console's CSP, which still refuses an injected script tag", async () => {
  const p = await context.newPage();
  await p.goto(`${base}/broken`);
  await assert.rejects(p.addScriptTag({ content: "window.injected = true" }));
  assert.equal(await p.evaluate(() => (window as unknown as { injected?: boolean }).injected), undefined, "the CSP refused the inline script");
  const violations = await axeScan(p);
  const ids = violations.map((v) => v.id).sort();
  assert.ok(ids.includes("image-alt"), JSON.stringify(violations));
  assert.ok(ids.includes("button-name"), JSON.stringify(violations));
  assert.ok(violations.every((v) => v.impact === "serious" || v.impact === "critical" ) && violations.every((v) => v.targets.length > 0));

  await p.goto(`${base}/clean`);
  await waitReady(p);
  assert.deepEqual(await axeScan(p), []);
  await p.close();
});

test("browser helper - login fills the form by its label, and a refused token fails with the alert's text", async () => {
  const p = await context.newPage();
  await login(p, base, "good");
  assert.equal(await p.getByRole("form", { name: "Log in" }).count(), 0);
  await assert.rejects(login(p, base, "bad"), /login refused: unknown or expired token/);
  await p.close();
});
