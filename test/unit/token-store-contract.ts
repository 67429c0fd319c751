/**
 * The TokenStore contract (src/registry/token-store.ts), run for every
 * backend: memory and sqlite in test/unit/token-store.test.ts, etcd in
 * test/integration/store-etcd.test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { ConflictError, UnavailableError } from "../../src/errors/index.js";
import type { Backend, TokenRecord } from "../../src/registry/index.js";

export interface TokenStoreFixture {
  readonly backend: Backend;
  /** Closes `backend` and opens the same data again (persistent backends only). */
  readonly reopen?: () => Promise<Backend>;
  cleanup(): Promise<void>;
}

export function tokenRecord(name: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return { name, scope: "read", hash: createHash("sha256").update(`secret-of-${name}`).digest("hex"), createdAt: 1_700_000_000_000, ...overrides };
}

export function runTokenStoreContract(kind: string, open: () => Promise<TokenStoreFixture>): void {
  async function withStore(fn: (fixture: TokenStoreFixture) => Promise<void>): Promise<void> {
    const fixture = await open();
    try {
      await fn(fixture);
    } finally {
      await fixture.backend.close();
      await fixture.cleanup();
    }
  }

  test(`${kind} token store - create, find by hash, list in name order, revoke`, () =>
    withStore(async ({ backend }) => {
      const { tokens } = backend;
      const b = tokenRecord("b-ci", { scope: "write", expiresAt: 1_700_000_060_000 });
      const a = tokenRecord("a-admin", { scope: "operator" });
      await tokens.create(b);
      await tokens.create(a);
      assert.deepEqual(await tokens.findByHash(b.hash), b);
      assert.equal(await tokens.findByHash(createHash("sha256").update("unknown").digest("hex")), undefined);
      assert.deepEqual((await tokens.list()).map((t) => t.name), ["a-admin", "b-ci"]);
      assert.ok(Object.isFrozen(await tokens.findByHash(a.hash)));
      assert.equal(await tokens.revoke("b-ci"), true);
      assert.equal(await tokens.revoke("b-ci"), false);
      assert.equal(await tokens.findByHash(b.hash), undefined);
      assert.deepEqual((await tokens.list()).map((t) => t.name), ["a-admin"]);
    }));

  test(`${kind} token store - a taken name or secret is a ConflictError and stores nothing`, () =>
    withStore(async ({ backend }) => {
      const { tokens } = backend;
      const first = tokenRecord("ci");
      await tokens.create(first);
      await assert.rejects(tokens.create(tokenRecord("ci", { hash: "0".repeat(64) })), ConflictError);
      await assert.rejects(tokens.create(tokenRecord("other", { hash: first.hash })), ConflictError);
      assert.deepEqual(await tokens.list(), [first]);
      assert.equal(await tokens.findByHash("0".repeat(64)), undefined);
    }));

  test(`${kind} token store - tokens make no registry revision, and the record is copied on the way in`, () =>
    withStore(async ({ backend }) => {
      const before = (await backend.load()).revision;
      const record = { ...tokenRecord("ci") };
      await backend.tokens.create(record);
      (record as { scope: string }).scope = "operator";
      assert.equal((await backend.tokens.findByHash(record.hash))?.scope, "read");
      assert.equal((await backend.load()).revision, before);
    }));

  test(`${kind} token store - UnavailableError once closed`, async () => {
    const fixture = await open();
    try {
      await fixture.backend.close();
      await assert.rejects(fixture.backend.tokens.list(), UnavailableError);
      await assert.rejects(fixture.backend.tokens.findByHash("0".repeat(64)), UnavailableError);
      await assert.rejects(fixture.backend.tokens.create(tokenRecord("x")), UnavailableError);
      await assert.rejects(fixture.backend.tokens.revoke("x"), UnavailableError);
    } finally {
      await fixture.cleanup();
    }
  });

  test(`${kind} token store - persistent backends keep tokens across a reopen`, async (t) => {
    const fixture = await open();
    if (!fixture.reopen) {
      await fixture.backend.close();
      await fixture.cleanup();
      t.skip("not persistent");
      return;
    }
    let reopened: Backend | undefined;
    try {
      const record = tokenRecord("admin", { scope: "operator" });
      await fixture.backend.tokens.create(record);
      reopened = await fixture.reopen();
      assert.deepEqual(await reopened.tokens.findByHash(record.hash), record);
    } finally {
      await reopened?.close();
      await fixture.cleanup();
    }
  });
}
