import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { allows, createTokenAuthority, ensureAdminToken, parseScope, parseTokenRequest, type Need, type Scope } from "../../src/auth/index.js";
import { VERIFIED_FRESH_MS } from "../../src/auth/token-authority.js";
import { ConflictError, UnauthenticatedError, UnavailableError, ValidationError } from "../../src/errors/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMemoryStore, type Backend, type TokenStore } from "../../src/registry/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { capture } from "../helpers/io.js";

describe("auth", () => {
  it("auth scopes - operator ⊇ write ⊇ read; identity:<service> allows that service's identity only", () => {
    const needs: Need[] = ["read", "write", "operator", { identity: "checkout" }, { identity: "web" }];
    const table: Record<string, boolean[]> = {
      read: [true, false, false, false, false],
      write: [true, true, false, false, false],
      operator: [true, true, true, true, true],
      "identity:checkout": [false, false, false, true, false],
    };
    for (const [granted, expected] of Object.entries(table)) {
      assert.deepEqual(needs.map((need) => allows(granted as Scope, need)), expected, granted);
    }
  });

  it("auth scopes - parseScope takes the four forms and names them when refusing", () => {
    for (const scope of ["read", "write", "operator", "identity:checkout"]) assert.equal(parseScope(scope), scope);
    for (const bad of ["admin", "identity:", "identity:Bad_Name", "READ", 3, undefined]) {
      assert.throws(() => parseScope(bad), (err: unknown) => err instanceof ValidationError && /^scope: must be read, write, operator or identity:<service>/.test(err.message));
    }
    assert.deepEqual(parseTokenRequest({ scope: "read" }), { scope: "read" });
    assert.throws(() => parseTokenRequest([]), ValidationError);
  });

  it("auth tokens - the store keeps a SHA-256, never the secret; verify checks expiry on the clock", async () => {
    const backend = createMemoryStore();
    const clock = createFakeClock(1_000_000);
    const authority = createTokenAuthority({ tokens: backend.tokens, clock });
    const issued = await authority.issue({ scope: "write", name: "ci", ttlMs: 1000 });
    assert.match(issued.token, /^smt_[A-Za-z0-9_-]{43}$/);
    const [record] = await backend.tokens.list();
    assert.ok(record && !JSON.stringify(record).includes(issued.token.slice(4)));
    assert.deepEqual(await authority.verify(issued.token), { name: "ci", scope: "write" });
    clock.advance(999);
    await authority.verify(issued.token);
    clock.advance(1);
    await assert.rejects(authority.verify(issued.token), UnauthenticatedError);
    await assert.rejects(authority.issue({ scope: "read", name: "ci" }), ConflictError);
    await backend.close();
  });
});

describe("auth verified tokens", () => {
  /** A memory TokenStore that counts lookups and can be taken down, as etcd can. */
  function flakyStore(backend: Backend) {
    const state = { down: false, lookups: 0 };
    const tokens: TokenStore = {
      ...backend.tokens,
      findByHash: async (hash) => {
        state.lookups++;
        if (state.down) throw new UnavailableError("etcd unavailable (test)");
        return backend.tokens.findByHash(hash);
      },
    };
    return { state, tokens };
  }

  it("auth verified tokens - a verified token is taken for VERIFIED_FRESH_MS without a store lookup, and while the store is down", async () => {
    const backend = createMemoryStore();
    const clock = createFakeClock(0);
    const { state, tokens } = flakyStore(backend);
    const authority = createTokenAuthority({ tokens, clock });
    const issued = await authority.issue({ scope: "read", name: "ci" });
    await authority.verify(issued.token);
    await authority.verify(issued.token);
    assert.equal(state.lookups, 1);
    clock.advance(VERIFIED_FRESH_MS);
    await authority.verify(issued.token);
    assert.equal(state.lookups, 2, "asked again once stale");
    state.down = true;
    clock.advance(VERIFIED_FRESH_MS * 100);
    assert.deepEqual(await authority.verify(issued.token), { name: "ci", scope: "read" }, "known token, store down");
    const stranger = await createTokenAuthority({ tokens: backend.tokens, clock }).issue({ scope: "read" });
    await assert.rejects(authority.verify(stranger.token), UnavailableError, "an unknown token with the store down is 503, not 401");
    await backend.close();
  });

  it("auth verified tokens - a revoke here ends the token at once; one revoked elsewhere ends within VERIFIED_FRESH_MS", async () => {
    const backend = createMemoryStore();
    const clock = createFakeClock(0);
    const here = createTokenAuthority({ tokens: backend.tokens, clock });
    const elsewhere = createTokenAuthority({ tokens: backend.tokens, clock });
    const a = await here.issue({ scope: "read", name: "a" });
    const b = await here.issue({ scope: "read", name: "b" });
    await here.verify(a.token);
    await here.verify(b.token);
    await here.revoke("a");
    await assert.rejects(here.verify(a.token), UnauthenticatedError);
    await elsewhere.revoke("b");
    await here.verify(b.token);
    clock.advance(VERIFIED_FRESH_MS);
    await assert.rejects(here.verify(b.token), UnauthenticatedError);
    await backend.close();
  });
});

describe("auth admin-token file", () => {
  async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "steadymesh-auth-"));
    try {
      await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const start = async (backend: Backend, dataDir: string) => {
    const out = capture();
    const authority = createTokenAuthority({ tokens: backend.tokens, clock: createFakeClock(0) });
    const outcome = await ensureAdminToken({ authority, dataDir, logger: createLogger({ level: "debug", destination: out.stream }) });
    return { outcome, authority, logs: out.text() };
  };

  it("auth admin-token file - first start writes an operator token, mode 0600, logged in one line without the token; a restart reuses it", async () => {
    await withDir(async (dir) => {
      const opened = await openSqliteStore({ dataDir: dir });
      const first = await start(opened, dir);
      assert.equal(first.outcome, "created");
      const file = join(dir, "admin-token");
      const token = (await readFile(file, "utf8")).trim();
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.deepEqual(await first.authority.verify(token), { name: "admin", scope: "operator" });
      assert.equal(first.logs.trim().split("\n").length, 1);
      assert.ok(first.logs.includes(file) && !first.logs.includes(token));
      await opened.close();
      await chmod(file, 0o644);
      const again = await openSqliteStore({ dataDir: dir });
      const second = await start(again, dir);
      assert.equal(second.outcome, "reused");
      assert.equal((await readFile(file, "utf8")).trim(), token);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await again.tokens.list()).length, 1);
      assert.ok(!second.logs.includes(token));
      await again.close();
    });
  });
  it("auth admin-token file - tokens in the store but no valid file: no new token, and the log says how to make one", async () => {
    await withDir(async (dir) => {
      const backend = createMemoryStore();
      const authority = createTokenAuthority({ tokens: backend.tokens, clock: createFakeClock(0) });
      await authority.issue({ scope: "operator", name: "someone" });
      await writeFile(join(dir, "admin-token"), "smt_revoked-or-foreign\n");
      const result = await start(backend, dir);
      assert.equal(result.outcome, "none");
      assert.match(result.logs, /steadymesh token create --scope operator/);
      assert.deepEqual((await backend.tokens.list()).map((t) => t.name), ["someone"]);
      await backend.close();
    });
  });

  it("auth admin-token file - a memory store starts empty every time, so each start writes a fresh token over the old file", async () => {
    await withDir(async (dir) => {
      const one = createMemoryStore();
      assert.equal((await start(one, dir)).outcome, "created");
      const firstToken = await readFile(join(dir, "admin-token"), "utf8");
      const two = createMemoryStore();
      assert.equal((await start(two, dir)).outcome, "created");
      assert.notEqual(await readFile(join(dir, "admin-token"), "utf8"), firstToken);
      await one.close();
      await two.close();
    });
  });
});
