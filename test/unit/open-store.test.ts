import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ValidationError } from "../../src/errors/index.js";
import { openStore } from "../../src/registry/index.js";

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-open-store-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function storeIssue(err: unknown): string {
  assert.ok(err instanceof ValidationError);
  assert.equal(err.issues.length, 1);
  assert.equal(err.issues[0]!.path, "store");
  return err.issues[0]!.message;
}

test("openStore - memory opens an in-process store and writes nothing to the data dir", async () => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, "data");
    const store = await openStore("memory", { dataDir });
    assert.equal(store.kind, "memory");
    await store.close();
    await assert.rejects(stat(dataDir), { code: "ENOENT" });
  });
});

test("openStore - sqlite opens registry.db in the data dir", async () => {
  await withTempDir(async (dir) => {
    const store = await openStore("sqlite", { dataDir: dir });
    assert.equal(store.kind, "sqlite");
    await store.close();
    assert.ok((await stat(join(dir, "registry.db"))).isFile());
  });
});

test("openStore - a malformed etcd spec is refused before any connection, naming the allowed form", async () => {
  for (const spec of ["etcd://", "etcd://127.0.0.1", "etcd://127.0.0.1:0", "etcd://127.0.0.1:2379,", "etcd://h:2379,h:70000", "etcd://user@h:2379"]) {
    await assert.rejects(openStore(spec, { dataDir: "unused" }), (err: unknown) => {
      assert.equal(storeIssue(err), `must be etcd://host:port[,host:port…] with ports 1-65535, got ${JSON.stringify(spec)}`);
      return true;
    });
  }
});

test("openStore - any other value is refused, naming the allowed values", async () => {
  for (const spec of ["", "SQLite", "postgres://db", "memory "]) {
    await assert.rejects(openStore(spec, { dataDir: "unused" }), (err: unknown) => {
      const message = storeIssue(err);
      assert.match(message, /^must be one of memory, sqlite /);
      assert.ok(message.endsWith(`got ${JSON.stringify(spec)}`), message);
      return true;
    });
  }
});
