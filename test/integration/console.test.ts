import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { loadScenario, writeReport } from "../../src/lab/index.js";
import { CLUSTER_TYPE, loadCodec } from "../../src/proto/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { seedStore } from "../../bench/xds/seed.js";
import { axeScan, describeViolations, launchBrowser, login, shot, SHOTS_DIR, waitReady, type ConsoleBrowser } from "../helpers/browser.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.js";
import { waitFor } from "../helpers/wait-for.js";
import { spotifyLike, syntheticResult } from "../unit/lab-fixtures.js";

/**
 * The web console's acceptance (issue 20): Debian's Chromium, through
 * playwright-core, against a real `steadymesh serve` process, a stock
 * grpc-js-xds client and real gRPC backends. Selectors are the roles and
 * accessible names of the console contract (section D), so a test breaks when
 * a label a screen reader user relies on does. Screenshots for the README go
 * to docs/console/. The 10,000-service load figures run last, on a serve of
 * their own.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TARGET = "xds:///greeter";
/** A report written from the lab's test fixture (a synthetic result, not a run): its directory name says so on the lab page. */
const SCENARIO = "spotify-2022-03-08";
const REPORT = `synthetic-${SCENARIO}`;
const NACK_MESSAGE = "cluster greeter: unsupported lb_policy: MAGLEV (the console test's NACK)";
const SCREENSHOTS = ["overview", "services", "service", "clients", "generations", "lab", "login", "overview-phone"];
const runStart = Date.now();
const codec = loadCodec();

let serve: ServeProcess;
let base = "";
let labDir = "";
let browser: ConsoleBrowser;
/** The operator's browser session (one context: its cookie) and its page. */
let operator: BrowserContext;
let page: Page;
let readToken = "";
let writeToken = "";
const backends: Backend[] = [];
let client: ClientProcess | undefined;
let raw: RawAdsStream | undefined;
/** Requests the operator's browser made to anywhere but the admin port (the console loads nothing from outside). */
const outside: string[] = [];
/** The generation the guard held in test 2 (9 of 10 greeter instances removed). */
let heldId: number | undefined;

/**
 * Builds the console from ui/ (esbuild, a few seconds) so the test sees the
 * sources as they are; without ui/build.mjs, dist/ui must be there already.
 */
function buildConsole(): void {
  if (existsSync(join(ROOT, "ui/build.mjs"))) {
    const built = spawnSync(process.execPath, [join(ROOT, "ui/build.mjs")], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.equal(built.status, 0, `ui/build.mjs failed: ${built.stderr}${built.stdout}`);
  }
  assert.ok(existsSync(join(ROOT, "dist/ui/index.html")), "the console is not built (no dist/ui/index.html): run npm run build");
}

async function api(method: string, path: string, body?: unknown, token = serve.adminToken!): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function register(id: string, port: number, address = "127.0.0.1"): Promise<void> {
  const res = await api("PUT", `/v1/services/greeter/instances/${id}`, { address, port });
  assert.ok(res.status < 300, `register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function deregister(id: string): Promise<void> {
  const res = await api("DELETE", `/v1/services/greeter/instances/${id}`);
  assert.ok(res.status < 300, `deregister ${id}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Waits until one sweep of the stock client's calls reaches exactly the backends `ids`. */
async function converge(ids: readonly string[], timeoutMs = 20_000): Promise<void> {
  const want = [...ids].sort().join(",");
  await waitFor(
    `the stock client to reach exactly ${want}`,
    async () => {
      const results = await client!.call(TARGET, ids.length * 3);
      return [...new Set(results.map((r) => (r.ok ? r.backend : `error ${r.code}`)))].sort().join(",");
    },
    { until: (seen) => seen === want, timeoutMs, intervalMs: 100, detail: () => client!.stderr().slice(-1000) },
  );
}

/** Loads `path` in `p` with a full navigation and answers the ms to main[data-ready]. */
async function open(p: Page, path: string): Promise<number> {
  await p.goto(base + path);
  return waitReady(p);
}

const article = (p: Page, id: number) => p.getByRole("article").filter({ has: p.getByRole("heading", { name: `Generation ${id}`, exact: true }) });

before(async () => {
  buildConsole();
  labDir = await mkdtemp(join(tmpdir(), "steadymesh-console-lab-"));
  await writeReport(join(labDir, REPORT), syntheticResult(loadScenario(SCENARIO), spotifyLike));
  // The production push quiet period (100 ms), so that a burst of deregistrations is one generation;
  // no drain step of a held generation while the test looks at it.
  serve = await startServeProcess(["--store", "memory", "--lab-reports", labDir, "--guard-drain-interval-ms", "86400000"]);
  base = serve.adminUrl;
  assert.ok(serve.adminToken, "serve wrote an operator token");
  const issued = await api("POST", "/v1/tokens", { scope: "read", name: "console-reader" });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  readToken = issued.body.token;
  const writer = await api("POST", "/v1/tokens", { scope: "write", name: "console-writer" });
  assert.equal(writer.status, 201, JSON.stringify(writer.body));
  writeToken = writer.body.token;
  for (let i = 1; i <= 10; i++) backends.push(await startBackend(`i${i}`));
  for (const b of backends) await register(b.id, b.port);
  browser = await launchBrowser();
  operator = await browser.newContext();
  operator.on("request", (request) => {
    const url = new URL(request.url());
    if (!["data:", "blob:", "about:"].includes(url.protocol) && url.origin !== new URL(base).origin) outside.push(request.url());
  });
  page = await operator.newPage();
});

after(async () => {
  raw?.close();
  await client?.stop();
  await browser?.close();
  await serve?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  if (labDir) await rm(labDir, { recursive: true, force: true });
});

test("console 1 - an operator token logs in to the overview; an instance registered through the API shows on its service page within 1 s, without a reload", async () => {
  await login(page, base, serve.adminToken!);
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 10_000 });
  // The event stream is open: the header's status says so.
  await page.getByRole("status").filter({ hasText: /^\s*Live\s*$/ }).first().waitFor({ timeout: 5000 });

  await open(page, "/ui/services/greeter");
  await page.getByRole("heading", { level: 1, name: "greeter" }).waitFor();
  const instances = page.getByRole("table", { name: /instances/i }).first();
  await instances.getByText("i10", { exact: true }).waitFor();
  await page.evaluate(() => ((window as unknown as { consoleTestMarker: string }).consoleTestMarker = "the same document"));
  assert.equal(await instances.getByText("i11", { exact: true }).count(), 0);

  const start = performance.now();
  await register("i11", 9, "127.0.0.2");
  try {
    await instances.getByText("i11", { exact: true }).waitFor({ timeout: 1000 });
    const ms = Math.round(performance.now() - start);
    assert.equal(await page.evaluate(() => (window as unknown as { consoleTestMarker?: string }).consoleTestMarker), "the same document", "the page was not reloaded");
    console.log(`console: i11 on the service page ${ms} ms after its PUT was sent`);
  } finally {
    // greeter back to its 10 instances whatever happened, for the guard's "9 of 10" in test 2a.
    await deregister("i11");
  }
  await instances.getByText("i11", { exact: true }).waitFor({ state: "detached", timeout: 2000 });
});

test("console 2a - 9 of 10 greeter instances removed: the guard holds the generation, /ui/generations shows it with its reason", async () => {
  client = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "console-client", xds: [`127.0.0.1:${serve.xdsPort}`] }) });
  await converge(backends.map((b) => b.id), 60_000);
  const before = (await api("GET", "/v1/generations")).body.generations.length as number;

  await Promise.all(backends.slice(1).map((b) => deregister(b.id)));
  const held = await waitFor(
    "a held generation",
    async () => ((await api("GET", "/v1/generations")).body.generations as Array<{ id: number; status: string; reason: string }>).slice(before).find((g) => g.status === "held"),
    { timeoutMs: 5000 },
  );
  assert.ok(held);
  assert.match(held.reason, /removes 9 of 10 endpoints of greeter/);
  heldId = held.id;

  await open(page, "/ui/generations");
  const shown = article(page, held.id);
  await shown.waitFor();
  const text = await shown.innerText();
  assert.match(text, /\bheld\b/i);
  assert.ok(text.includes(held.reason), `the article shows the reason ${JSON.stringify(held.reason)}: ${text}`);
  await shown.getByRole("button", { name: `Approve generation ${held.id}`, exact: true }).waitFor();
  await shot(page, "generations.png");

  // Held: the stock client still has all 10 endpoints.
  const results = await client.call(TARGET, 30);
  assert.deepEqual([...new Set(results.map((r) => (r.ok ? r.backend : `error ${r.code}`)))].sort(), backends.map((b) => b.id).sort());
});

test("console 4 - a read token sees the held generation but no approve button; a forged approve from its session, and an operator's without X-CSRF-Token, get 403", async () => {
  assert.ok(heldId !== undefined, "test 2a held a generation");
  const reader = await browser.newContext();
  try {
    const p = await reader.newPage();
    await login(p, base, readToken);
    await open(p, "/ui/generations");
    await article(p, heldId).waitFor();
    assert.equal(await p.getByRole("button", { name: /^Approve generation/ }).count(), 0, "no approve button for a read token");
    assert.equal(await p.getByRole("button", { name: /^Roll back to generation/ }).count(), 0, "no rollback button for a read token");

    const forged = await p.evaluate(async (id) => {
      const session = (await (await fetch("/ui/session", { credentials: "same-origin" })).json()) as { csrf: string; scope: string };
      const res = await fetch(`/v1/generations/${id}/approve`, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": session.csrf } });
      return { scope: session.scope, status: res.status, body: await res.text() };
    }, heldId);
    assert.equal(forged.scope, "read");
    assert.equal(forged.status, 403, forged.body);
    assert.doesNotMatch(forged.body, /X-CSRF-Token/, "refused for its scope, not for a missing CSRF header");
  } finally {
    await reader.close();
  }

  const noCsrf = await page.evaluate(async (id) => {
    const res = await fetch(`/v1/generations/${id}/approve`, { method: "POST", credentials: "same-origin" });
    return { status: res.status, body: await res.text() };
  }, heldId);
  assert.equal(noCsrf.status, 403, noCsrf.body);
  assert.match(noCsrf.body, /X-CSRF-Token/);
  const still = (await api("GET", "/v1/generations")).body.generations.find((g: { id: number }) => g.id === heldId);
  assert.equal(still?.status, "held", "neither request approved it");
});

test("console 2b - approve in the browser: the dialog restates \"greeter 10 → 1 endpoints\", Confirm pushes it, the stock client converges on the one left", async () => {
  assert.ok(heldId !== undefined, "test 2a held a generation");
  await open(page, "/ui/generations");
  await article(page, heldId).getByRole("button", { name: `Approve generation ${heldId}`, exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Approve generation ${heldId}?` });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /greeter 10 → 1 endpoints/);
  // Asserted at the end, so that an accessibility finding does not hide whether the approval works.
  const dialogViolations = describeViolations("approve dialog", await axeScan(page));
  await dialog.getByRole("button", { name: "Confirm", exact: true }).click();

  await converge(["i1"]);
  const approved = (await api("GET", "/v1/generations")).body.generations.find((g: { id: number }) => g.id === heldId);
  assert.equal(approved?.status, "pushed");
  const results = await client!.call(TARGET, 20);
  assert.deepEqual([...new Set(results.map((r) => (r.ok ? r.backend : `error ${r.code}`)))], ["i1"], "every call reaches i1");
  assert.deepEqual(dialogViolations, [], `serious or critical axe violations:\n${dialogViolations.join("\n")}`);
});

test("console 3 - a client's NACK shows on /ui/clients with its error_detail text", async () => {
  raw = openRawAds(serve.xdsPort, codec);
  raw.send({ node: { id: "nacking-client", cluster: "console-test", user_agent_name: "raw-ads" } as never, type_url: CLUSTER_TYPE, resource_names: ["greeter"] });
  const cds = await raw.next();
  raw.send({ type_url: CLUSTER_TYPE, resource_names: ["greeter"], version_info: "", response_nonce: cds.nonce, error_detail: { code: 3, message: NACK_MESSAGE, details: [] } as never });

  await open(page, "/ui/clients");
  const row = page.getByRole("row").filter({ hasText: "nacking-client" });
  await row.getByText(NACK_MESSAGE).waitFor({ state: "visible", timeout: 5000 });
  await shot(page, "clients.png");
});

/** A few services beside greeter, in every health, so the screenshots (and axe) see a mesh rather than one row. */
async function registerMesh(): Promise<void> {
  const mesh: Array<[service: string, healths: readonly string[]]> = [
    ["checkout", ["healthy", "healthy", "healthy", "unhealthy"]],
    ["login", ["healthy", "healthy", "draining"]],
    ["payments", ["healthy", "healthy"]],
  ];
  for (const [service, healths] of mesh) {
    for (const [i, health] of healths.entries()) {
      const zone = i % 2 === 0 ? "z1" : "z2";
      const res = await api("PUT", `/v1/services/${service}/instances/${service}-${i + 1}`, { address: "127.0.0.1", port: 21000 + i, zone, region: "r1", health, metadata: { version: "1" } });
      assert.ok(res.status < 300, `PUT ${service}-${i + 1}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
}

test("console 5 and 7 - axe finds no serious or critical violation on any page; each page's screenshot", async () => {
  await registerMesh();
  // The keyboard's way in: the first Tab reaches "Skip to content", Enter puts focus in the page's main content.
  await open(page, "/ui/services");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.closest("main")?.id), "content", "Enter on the skip link moves focus into <main>");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Search services", "the next Tab reaches the search box");
  const found: string[] = [];
  const pages: Array<[name: string, path: string, heading: string]> = [
    ["overview", "/ui", "Overview"],
    ["services", "/ui/services", "Services"],
    ["service", "/ui/services/greeter", "greeter"],
    ["clients", "/ui/clients", "Clients"],
    ["generations", "/ui/generations", "Generations"],
    ["lab", "/ui/lab", "Lab reports"],
  ];
  for (const [name, path, heading] of pages) {
    await open(page, path);
    await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
    if (name === "lab") {
      await page.getByRole("link", { name: new RegExp(REPORT) }).first().click();
      const frame = page.frameLocator(`iframe[title="Lab report ${REPORT}"]`);
      await frame.locator("body").getByText(/\S/).first().waitFor({ timeout: 5000 });
    }
    found.push(...describeViolations(name, await axeScan(page)));
    // generations.png shows the held generation (test 2a); clients.png the NACK (test 3).
    if (name !== "generations" && name !== "clients") await shot(page, `${name}.png`);
    if (name === "overview") await shot(page, "overview-phone.png", { phone: true });
  }
  const anonymous = await browser.newContext();
  try {
    const p = await anonymous.newPage();
    await p.goto(`${base}/ui/login`);
    await p.getByRole("form", { name: "Log in" }).waitFor();
    found.push(...describeViolations("login", await axeScan(p)));
    await shot(p, "login.png");
  } finally {
    await anonymous.close();
  }
  assert.deepEqual(found, [], `serious or critical axe violations:\n${found.join("\n")}`);
  assert.deepEqual(outside, [], "the console loaded nothing from outside the admin port");
  const shell = await fetch(`${base}/ui`);
  const csp = shell.headers.get("content-security-policy") ?? "";
  for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  assert.equal(shell.headers.get("x-frame-options"), "DENY");

  for (const name of SCREENSHOTS) {
    const file = join(SHOTS_DIR, `${name}.png`);
    const info = await stat(file);
    assert.ok(info.mtimeMs >= runStart && info.size > 1000, `${file} was written by this run`);
  }
});

test("console 8 - a write token drains an instance on its service page: the dialog restates \"checkout 3 → 2 endpoints\", Confirm drains it, Undrain brings it back; a read token sees no such button", async () => {
  const health = async (id: string) => ((await api("GET", "/v1/services/checkout")).body.service.instances as Array<{ id: string; health: string }>).find((i) => i.id === id)?.health;
  assert.equal(await health("checkout-1"), "healthy", "test 5 and 7 registered the mesh");
  const reader = await browser.newContext();
  try {
    const p = await reader.newPage();
    await login(p, base, readToken);
    await open(p, "/ui/services/checkout");
    await p.getByRole("table", { name: "Instances of checkout" }).waitFor();
    assert.equal(await p.getByRole("button", { name: /^(Drain|Undrain|Remove) instance/ }).count(), 0, "no instance actions for a read token");
  } finally {
    await reader.close();
  }
  const writer = await browser.newContext();
  try {
    const p = await writer.newPage();
    await login(p, base, writeToken);
    await open(p, "/ui/services/checkout");
    await p.getByRole("button", { name: "Drain instance checkout-1", exact: true }).click();
    const dialog = p.getByRole("dialog", { name: "Drain instance checkout-1 of checkout?" });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /checkout 3 → 2 endpoints/);
    await dialog.getByRole("button", { name: "Confirm", exact: true }).click();
    await p.getByRole("alert").filter({ hasText: "Instance checkout-1 is draining." }).waitFor({ timeout: 5000 });
    assert.equal(await health("checkout-1"), "draining");
    // The table follows the registry without a reload: the row now offers Undrain.
    await p.getByRole("button", { name: "Undrain instance checkout-1", exact: true }).click();
    const undrain = p.getByRole("dialog", { name: "Undrain instance checkout-1 of checkout?" });
    assert.match(await undrain.innerText(), /checkout 2 → 3 endpoints/);
    await undrain.getByRole("button", { name: "Confirm", exact: true }).click();
    await p.getByRole("alert").filter({ hasText: "Instance checkout-1 is no longer draining." }).waitFor({ timeout: 5000 });
    assert.equal(await health("checkout-1"), "healthy");
    assert.equal(await p.getByRole("button", { name: /^Approve generation/ }).count(), 0);
  } finally {
    await writer.close();
  }
});

test("console 6 - load figures with 10,000 services (measured and reported, not asserted)", async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), "steadymesh-console-10k-"));
  let big: ServeProcess | undefined;
  const context = await browser.newContext();
  try {
    // Straight into the sqlite store, as bench/xds/seed.ts does (the mutations the admin API's PUT would
    // commit, in two commits): on the 2-core CI machine 0.2 s, plus about 6 s for serve to load them and
    // build the first generation; 10,000 PUTs through the API, 64 at a time, took 32 s.
    const seeded = await seedStore("sqlite", dataDir, { services: 10_000, perService: 1 });
    const startedAt = performance.now();
    big = await startServeProcess(["--data-dir", dataDir]);
    const startMs = performance.now() - startedAt;
    const p = await context.newPage();
    await login(p, big.adminUrl, big.adminToken!);
    await p.goto(`${big.adminUrl}/ui`);
    const overviewMs = await waitReady(p);
    await p.goto(`${big.adminUrl}/ui/services`);
    const servicesMs = await waitReady(p);
    await p.getByText(/10,?000 services match/).first().waitFor();
    assert.ok((await p.getByRole("table", { name: "Services" }).getByRole("row").count()) > 1, "the first page of services is listed");
    const line = `console load: overview ${overviewMs} ms, services ${servicesMs} ms (10,000 services)`;
    t.diagnostic(line);
    t.diagnostic(`seeded 10,000 services in ${Math.round(seeded.seedMs)} ms (${seeded.commits} commits); serve listening ${Math.round(startMs)} ms after its spawn`);
    console.log(line);
    t.diagnostic(`console test file so far: ${Math.round((Date.now() - runStart) / 1000)} s`);
  } finally {
    await context.close();
    await big?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
