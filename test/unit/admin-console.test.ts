/**
 * The web console's routes on the admin API: login, the session cookie as a
 * token (with X-CSRF-Token on changes), logout, the security headers, the app
 * shell and its assets from a temporary dist/ui, lab report files, and the
 * failed-login limit. One test goes over a real socket with node's fetch.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createTokenAuthority, type Scope, type TokenAuthority } from "../../src/auth/index.js";
import { CONSOLE_CSP, LAB_REPORT_CSP } from "../../src/console/index.js";
import { createSystemClock } from "../../src/clock/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createTestCa } from "../helpers/test-certificates.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations, sampleGenerations } from "./generation-fixtures.js";

const CSRF_ERROR = "missing or wrong X-CSRF-Token header: the console sends it; a cross-site request cannot";

interface Setup {
  readonly admin: AdminServer;
  readonly authority: TokenAuthority;
  readonly uiDir: string;
  readonly labDir: string;
  readonly metrics: Metrics;
  logs(): string;
  tokenOf(scope: Scope, name?: string): Promise<string>;
  close(): Promise<void>;
}

async function setup(options: { built?: boolean; tls?: { certificateChain: string; privateKeyPem: string } } = {}): Promise<Setup> {
  const backend = createMemoryStore();
  const registry = await createRegistry(backend);
  const authority = createTokenAuthority({ tokens: backend.tokens, clock: createSystemClock() });
  const root = mkdtempSync(join(tmpdir(), "admin-console-"));
  const uiDir = join(root, "ui");
  const labDir = join(root, "lab-reports");
  mkdirSync(join(uiDir, "assets"), { recursive: true });
  if (options.built !== false) writeFileSync(join(uiDir, "index.html"), "<!doctype html><title>steadymesh console</title>");
  writeFileSync(join(uiDir, "assets", "app.js"), "export {};");
  writeFileSync(join(uiDir, "assets", "app.css"), "body{}");
  writeFileSync(join(uiDir, "secret.txt"), "outside assets");
  mkdirSync(join(labDir, "spotify-2022-03-08"), { recursive: true });
  writeFileSync(join(labDir, "spotify-2022-03-08", "report.html"), "<h1>PASS</h1>");
  writeFileSync(join(labDir, "spotify-2022-03-08", "report.json"), "{}");
  const out = capture();
  const metrics = createMetrics({ processMetrics: false });
  const admin = createAdminServer({
    auth: { required: true, authority },
    registry,
    clients: { list: () => [] },
    metrics,
    generations: createFakeGenerations(sampleGenerations()),
    logger: createLogger({ level: "debug", destination: out.stream }),
    uiDir,
    labReportsDir: labDir,
    ...(options.tls && { tls: options.tls }),
  });
  return {
    admin,
    authority,
    uiDir,
    labDir,
    metrics,
    logs: out.text,
    tokenOf: async (scope, name) => (await authority.issue({ scope, ...(name !== undefined && { name }) })).token,
    close: async () => {
      await admin.close();
      await registry.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

interface Call {
  readonly cookie?: string;
  readonly csrf?: string;
  readonly bearer?: string;
  readonly body?: unknown;
  readonly remoteAddress?: string;
}

async function call(admin: AdminServer, method: string, url: string, options: Call = {}) {
  const response = await admin.inject({
    method: method as "GET",
    url,
    ...(options.remoteAddress !== undefined && { remoteAddress: options.remoteAddress }),
    headers: {
      ...(options.cookie !== undefined && { cookie: options.cookie }),
      ...(options.csrf !== undefined && { "x-csrf-token": options.csrf }),
      ...(options.bearer !== undefined && { authorization: `Bearer ${options.bearer}` }),
      ...(options.body !== undefined && { "content-type": "application/json" }),
    },
    ...(options.body !== undefined && { payload: JSON.stringify(options.body) }),
  });
  // any: tests poke into arbitrary answers.
  const json: any = response.body.startsWith("{") ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, headers: response.headers, body: response.body, json };
}

/** Logs in; the cookie to send back (`name=value`) and the CSRF token. */
async function login(admin: AdminServer, token: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const response = await call(admin, "POST", "/ui/login", { body: { token } });
  assert.equal(response.status, 200, response.body);
  const setCookie = String(response.headers["set-cookie"]);
  return { cookie: setCookie.split(";")[0]!, csrf: response.json.csrf, setCookie };
}

describe("admin console", () => {
  it("admin console - login: a good token opens a session (HttpOnly, SameSite=Strict cookie, no Secure without TLS); bad ones are 401/400/403; no token is logged", async () => {
    const { admin, tokenOf, logs, metrics, close } = await setup();
    try {
      const token = await tokenOf("operator", "alice");
      const response = await call(admin, "POST", "/ui/login", { body: { token } });
      assert.equal(response.status, 200);
      assert.deepEqual(Object.keys(response.json).sort(), ["csrf", "name", "scope"]);
      assert.equal(response.json.name, "alice");
      assert.equal(response.json.scope, "operator");
      assert.match(response.json.csrf, /^[A-Za-z0-9_-]{43}$/);
      const setCookie = String(response.headers["set-cookie"]);
      assert.match(setCookie, /^steadymesh_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/);
      assert.ok(!setCookie.includes("Secure"));
      assert.ok(!response.body.includes(token));
      const bad = await call(admin, "POST", "/ui/login", { body: { token: `smt_${"B".repeat(43)}` } });
      assert.equal(bad.status, 401);
      assert.match(bad.json.error, /invalid token/);
      assert.equal(bad.headers["set-cookie"], undefined);
      const empty = await call(admin, "POST", "/ui/login", { body: { token: "", extra: 1 } });
      assert.equal(empty.status, 400);
      assert.match(empty.json.error, /extra: .*token: required/);
      assert.equal((await call(admin, "POST", "/ui/login", { body: ["x"] })).status, 400);
      const identity = await call(admin, "POST", "/ui/login", { body: { token: await tokenOf("identity:checkout", "svc") } });
      assert.equal(identity.status, 403);
      assert.match(identity.json.error, /token "svc" has scope identity:checkout; the console needs scope read/);
      assert.ok(logs().includes("admin request"));
      assert.ok(!logs().includes(token.slice(4, 20)), "a token reached the log");
      // One good login; the bad token and the identity token are refused (the 400s never reached a token check).
      const counted = await metrics.registry.getSingleMetricAsString("steadymesh_console_logins_total");
      assert.match(counted, /steadymesh_console_logins_total\{result="ok"\} 1$/m);
      assert.match(counted, /steadymesh_console_logins_total\{result="refused"\} 2$/m);
    } finally {
      await close();
    }
  });

  it("admin console - with TLS the session cookie is Secure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "admin-console-tls-"));
    try {
      await (await createTestCa("mesh.local")).issue("admin", dir);
      const tls = { certificateChain: readFileSync(join(dir, "certificate.pem"), "utf8"), privateKeyPem: readFileSync(join(dir, "private_key.pem"), "utf8") };
      const { admin, tokenOf, close } = await setup({ tls });
      try {
        const { setCookie } = await login(admin, await tokenOf("read"));
        assert.match(setCookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800; Secure$/);
        assert.match(String((await call(admin, "POST", "/ui/logout")).headers["set-cookie"]), /Max-Age=0; Secure$/);
      } finally {
        await close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("admin console - the session cookie is a token: GETs pass, changes need X-CSRF-Token, then the scope decides; Bearer wins", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const write = await login(admin, await tokenOf("write", "deployer"));
      assert.deepEqual((await call(admin, "GET", "/ui/session", { cookie: write.cookie })).json, { name: "deployer", scope: "write", csrf: write.csrf });
      assert.equal((await call(admin, "GET", "/v1/services", { cookie: write.cookie })).status, 200);
      for (const csrf of [undefined, "", "wrong", `${write.csrf}x`]) {
        const refused = await call(admin, "PUT", "/v1/services/web", { cookie: write.cookie, body: {}, ...(csrf !== undefined && { csrf }) });
        assert.equal(refused.status, 403, String(csrf));
        assert.deepEqual(refused.json, { error: CSRF_ERROR });
      }
      assert.equal((await call(admin, "DELETE", "/v1/services/web", { cookie: write.cookie })).status, 403);
      assert.equal((await call(admin, "PUT", "/v1/services/web", { cookie: write.cookie, csrf: write.csrf, body: {} })).status, 201);
      // Another session's CSRF token does not do.
      const other = await login(admin, await tokenOf("write"));
      assert.equal((await call(admin, "PUT", "/v1/services/web", { cookie: write.cookie, csrf: other.csrf, body: {} })).status, 403);
      // The scope is checked as for Bearer: write may not approve.
      const approve = await call(admin, "POST", "/v1/generations/3/approve", { cookie: write.cookie, csrf: write.csrf });
      assert.equal(approve.status, 403);
      assert.match(approve.json.error, /token "deployer" has scope write; POST \/v1\/generations\/:id\/approve needs scope operator/);
      const read = await login(admin, await tokenOf("read", "viewer"));
      const forged = await call(admin, "POST", "/v1/generations/3/approve", { cookie: read.cookie, csrf: read.csrf });
      assert.equal(forged.status, 403);
      assert.match(forged.json.error, /has scope read; .* needs scope operator/);
      const operator = await login(admin, await tokenOf("operator"));
      assert.equal((await call(admin, "POST", "/v1/generations/3/approve", { cookie: operator.cookie, csrf: operator.csrf })).status, 200);
      // Bearer wins over the cookie: a bad Bearer is 401 even with a good session; a good Bearer needs no CSRF header.
      assert.equal((await call(admin, "GET", "/v1/services", { cookie: write.cookie, bearer: "nonsense" })).status, 401);
      const bearer = await tokenOf("write", "ci");
      assert.equal((await call(admin, "PUT", "/v1/services/api", { cookie: read.cookie, bearer, body: {} })).status, 201);
      assert.deepEqual((await call(admin, "GET", "/ui/session", { bearer })).json, { name: "ci", scope: "write" });
      // An unknown or misshapen session cookie is no token.
      assert.equal((await call(admin, "GET", "/v1/services", { cookie: `steadymesh_session=${"A".repeat(43)}` })).status, 401);
      assert.equal((await call(admin, "GET", "/ui/session", { cookie: "steadymesh_session=x" })).status, 401);
      // Logging in again from the same browser ends the session it had.
      const again = await call(admin, "POST", "/ui/login", { cookie: operator.cookie, body: { token: await tokenOf("read") } });
      assert.equal(again.status, 200);
      assert.equal((await call(admin, "GET", "/ui/session", { cookie: operator.cookie })).status, 401);
      assert.equal((await call(admin, "GET", "/ui/session", { cookie: String(again.headers["set-cookie"]).split(";")[0] })).status, 200);
      assert.equal((await call(admin, "GET", "/ui/session")).status, 401);
    } finally {
      await close();
    }
  });

  it("admin console - a revoked token ends its session (401); logout forgets the session and clears the cookie", async () => {
    const { admin, authority, tokenOf, close } = await setup();
    try {
      const token = await tokenOf("read", "temp");
      const session = await login(admin, token);
      assert.equal((await call(admin, "GET", "/v1/services", { cookie: session.cookie })).status, 200);
      await authority.revoke("temp");
      const revoked = await call(admin, "GET", "/v1/services", { cookie: session.cookie });
      assert.equal(revoked.status, 401);
      assert.match(revoked.json.error, /console session ended, its token is no longer valid .*log in again/);
      assert.ok(!revoked.body.includes(token));
      assert.equal((await call(admin, "GET", "/ui/session", { cookie: session.cookie })).status, 401);

      const other = await login(admin, await tokenOf("read"));
      const out = await call(admin, "POST", "/ui/logout", { cookie: other.cookie });
      assert.equal(out.status, 204);
      assert.match(String(out.headers["set-cookie"]), /^steadymesh_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/);
      assert.equal((await call(admin, "GET", "/ui/session", { cookie: other.cookie })).status, 401);
      assert.equal((await call(admin, "GET", "/v1/services", { cookie: other.cookie })).status, 401);
    } finally {
      await close();
    }
  });

  it("admin console - every /ui answer carries the CSP, no framing, nosniff, no referrer, no-store; API answers nosniff and no framing", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const session = await login(admin, await tokenOf("read"));
      for (const [url, options] of [["/ui", {}], ["/ui/services/greeter", {}], ["/ui/assets/missing.js", {}], ["/ui/session", { cookie: session.cookie }], ["/ui/session", {}]] as const) {
        const response = await call(admin, "GET", url, options);
        assert.equal(response.headers["content-security-policy"], CONSOLE_CSP, url);
        assert.equal(response.headers["x-frame-options"], "DENY", url);
        assert.equal(response.headers["x-content-type-options"], "nosniff", url);
        assert.equal(response.headers["referrer-policy"], "no-referrer", url);
        assert.ok(String(response.headers["cache-control"]).startsWith("no-"), url);
      }
      assert.equal((await call(admin, "GET", "/ui")).headers["cache-control"], "no-store");
      assert.match(CONSOLE_CSP, /default-src 'none'; script-src 'self';.*frame-ancestors 'none'/);
      for (const [url, options] of [["/v1/services", { cookie: session.cookie }], ["/v1/services", {}], ["/healthz", {}]] as const) {
        const response = await call(admin, "GET", url, options);
        assert.equal(response.headers["x-content-type-options"], "nosniff", url);
        assert.equal(response.headers["x-frame-options"], "DENY", url);
        assert.equal(response.headers["content-security-policy"], undefined, url);
      }
    } finally {
      await close();
    }
  });

  it("admin console - the shell: /ui and client-side paths answer index.html; assets with their types; no path leaves dist/ui/assets", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const bearer = await tokenOf("operator");
      for (const url of ["/ui", "/ui/", "/ui/login", "/ui/services", "/ui/services/greeter", "/ui/generations/12", "/ui/lab?x=1"]) {
        const page = await call(admin, "GET", url);
        assert.equal(page.status, 200, url);
        assert.equal(page.headers["content-type"], "text/html; charset=utf-8", url);
        assert.match(page.body, /steadymesh console/, url);
      }
      const js = await call(admin, "GET", "/ui/assets/app.js");
      assert.equal(js.status, 200);
      assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
      assert.equal(js.body, "export {};");
      assert.equal((await call(admin, "GET", "/ui/assets/app.css")).headers["content-type"], "text/css; charset=utf-8");
      assert.equal((await call(admin, "HEAD", "/ui/assets/app.css")).status, 200);
      const attempts = [
        "/ui/assets/../../package.json",
        "/ui/assets/..%2F..%2Fpackage.json",
        "/ui/assets/%2e%2e%2f%2e%2e%2fpackage.json",
        "/ui/assets/%2E%2E%2Fsecret.txt",
        "/ui/assets/..%5csecret.txt",
        "/ui/assets/",
        "/ui/assets",
        "/ui/assets/app.js/x",
        "/ui/assets/missing.js",
        "/ui/lab-reports/x",
        "/ui/../package.json",
      ];
      // inject parses the URL as a browser would (`/ui/assets/..` becomes `/ui/`); the raw ones are in the socket test.
      for (const url of attempts) {
        // With a token, so that a URL normalised out of /ui still shows what it reached.
        const response = await call(admin, "GET", url, { bearer });
        assert.equal(response.status, 404, `${url}: ${response.status} ${response.body.slice(0, 80)}`);
        assert.ok(!response.body.includes("outside assets") && !response.body.includes("steadymesh console") && !response.body.includes('"version"'), url);
        assert.equal(response.body.split("\n").length, 1, url);
      }
    } finally {
      await close();
    }
  });

  it("admin console - without a build, /ui answers 503 saying how to build it", async () => {
    const { admin, close } = await setup({ built: false });
    try {
      for (const url of ["/ui", "/ui/services"]) {
        const response = await call(admin, "GET", url);
        assert.equal(response.status, 503, url);
        assert.deepEqual(response.json, { error: "the console is not built: run npm run build" });
        assert.equal(response.headers["content-security-policy"], CONSOLE_CSP);
      }
    } finally {
      await close();
    }
  });

  it("admin console - lab report files: scope read, sandboxed and frameable by the console only; bad names 400, missing 404", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const session = await login(admin, await tokenOf("read"));
      const url = "/ui/lab-reports/spotify-2022-03-08/report.html";
      assert.equal((await call(admin, "GET", url)).status, 401);
      for (const options of [{ cookie: session.cookie }, { bearer: await tokenOf("read") }]) {
        const report = await call(admin, "GET", url, options);
        assert.equal(report.status, 200);
        assert.equal(report.body, "<h1>PASS</h1>");
        assert.equal(report.headers["content-type"], "text/html; charset=utf-8");
        assert.equal(report.headers["content-security-policy"], LAB_REPORT_CSP);
        assert.match(LAB_REPORT_CSP, /frame-ancestors 'self'; sandbox$/);
        assert.equal(report.headers["x-frame-options"], "SAMEORIGIN");
        assert.equal(report.headers["x-content-type-options"], "nosniff");
      }
      const json = await call(admin, "GET", "/ui/lab-reports/spotify-2022-03-08/report.json", { cookie: session.cookie });
      assert.equal(json.headers["content-type"], "application/json; charset=utf-8");
      assert.equal((await call(admin, "GET", "/ui/lab-reports/spotify-2022-03-08/report.png", { cookie: session.cookie })).status, 404);
      assert.equal((await call(admin, "GET", "/ui/lab-reports/nothing/report.html", { cookie: session.cookie })).status, 404);
      for (const bad of ["/ui/lab-reports/a..b/report.html", "/ui/lab-reports/..%2F..%2Fui/report.html", "/ui/lab-reports/spotify-2022-03-08/secret.txt", "/ui/lab-reports/spotify-2022-03-08/..%2F..%2Fui%2Fsecret.txt"]) {
        const response = await call(admin, "GET", bad, { cookie: session.cookie });
        assert.equal(response.status, 400, bad);
        assert.match(response.json.error, /^(name|file): /, bad);
      }
    } finally {
      await close();
    }
  });

  it("admin console - 10 failed logins a minute from one address, then 429 (even for a good token); other addresses still log in", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const good = await tokenOf("read");
      for (let i = 0; i < 10; i++) assert.equal((await call(admin, "POST", "/ui/login", { body: { token: `smt_${String(i).repeat(43)}` }, remoteAddress: "10.0.0.9" })).status, 401);
      const limited = await call(admin, "POST", "/ui/login", { body: { token: good }, remoteAddress: "10.0.0.9" });
      assert.equal(limited.status, 429);
      assert.match(limited.json.error, /too many failed logins from 10\.0\.0\.9: try again in \d+ s/);
      assert.ok(Number(limited.headers["retry-after"]) > 0 && Number(limited.headers["retry-after"]) <= 60);
      assert.equal((await call(admin, "POST", "/ui/login", { body: { token: good }, remoteAddress: "10.0.0.10" })).status, 200);
    } finally {
      await close();
    }
  });

  it("admin console - over a real socket with fetch: log in, read by cookie, change with the CSRF header", async () => {
    const { admin, tokenOf, close } = await setup();
    try {
      const { port } = await admin.listen("127.0.0.1", 0);
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/ui/services`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("content-security-policy"), CONSOLE_CSP);
      const loggedIn = await fetch(`${base}/ui/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: await tokenOf("write", "web") }) });
      assert.equal(loggedIn.status, 200);
      const { csrf } = (await loggedIn.json()) as { csrf: string };
      const cookie = (loggedIn.headers.get("set-cookie") ?? "").split(";")[0]!;
      assert.match(cookie, /^steadymesh_session=/);
      assert.equal((await fetch(`${base}/v1/services`, { headers: { cookie } })).status, 200);
      const put = (headers: Record<string, string>) => fetch(`${base}/v1/services/shop`, { method: "PUT", headers: { cookie, "content-type": "application/json", ...headers }, body: "{}" });
      assert.equal((await put({})).status, 403);
      assert.equal((await put({ "x-csrf-token": csrf })).status, 201);
      // Raw requests keep `..` in the path as sent (fetch and inject would normalise it away).
      const raw = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port, path, headers: { cookie } }, (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on("error", reject);
          req.end();
        });
      for (const [path, status] of [
        ["/ui/assets/../../package.json", 404],
        ["/ui/assets/..", 404],
        ["/ui/assets/%2e%2e", 404],
        ["/ui/assets/..%2f..%2fsecret.txt", 404],
        ["/ui/assets/../secret.txt", 404],
        ["/ui/lab-reports/../../package.json", 404],
        ["/ui/lab-reports/%2e%2e/report.html", 400],
        ["/ui/lab-reports/../report.html", 400],
      ] as const) {
        const response = await raw(path);
        assert.equal(response.status, status, `${path}: ${response.body.slice(0, 80)}`);
        assert.ok(!response.body.includes("outside assets") && !response.body.includes('"version"'), path);
      }
    } finally {
      await close();
    }
  });
});
