import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { putInstance, runStoreContract } from "./store-contract.js";

const SQLITE_MODULE = new URL("../../src/registry/stores/sqlite.ts", import.meta.url).href;

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-sqlite-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

runStoreContract("sqlite", async () => {
  const { dir, cleanup } = await tempDir();
  return { store: await openSqliteStore({ dataDir: dir }), reopen: () => openSqliteStore({ dataDir: dir }), cleanup };
});

test("sqlite store - creates a missing data dir and keeps registry.db in it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const dataDir = join(dir, "nested", "data");
    const store = await openSqliteStore({ dataDir });
    await store.close();
    assert.ok((await stat(join(dataDir, "registry.db"))).isFile());
  } finally {
    await cleanup();
  }
});

test("sqlite store - refuses a data dir that cannot be created, with UnavailableError", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = join(dir, "not-a-dir");
    await writeFile(file, "");
    await assert.rejects(openSqliteStore({ dataDir: join(file, "data") }), (err: unknown) => err instanceof UnavailableError && /cannot create data dir/.test(err.message));
  } finally {
    await cleanup();
  }
});

test("sqlite store - a second open of the same data dir fails until the first closes", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const first = await openSqliteStore({ dataDir: dir });
    await first.commit([putInstance("a", "i1")]);
    await assert.rejects(openSqliteStore({ dataDir: dir }), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.message, `data dir ${dir} is in use by another steadymesh process`);
      return true;
    });
    assert.equal((await first.load()).revision, 1, "the failed open must not disturb the holder");
    await first.close();
    const second = await openSqliteStore({ dataDir: dir });
    assert.equal((await second.load()).revision, 1);
    await second.close();
  } finally {
    await cleanup();
  }
});

/** A child process that opens `dir`, commits, prints "ready", and holds the store until killed. */
async function holdInChild(dir: string): Promise<ChildProcess> {
  const script = `
    const [url, dir] = process.argv.slice(1);
    const { openSqliteStore } = await import(url);
    const store = await openSqliteStore({ dataDir: dir });
    const defaults = { name: "a", protocol: "grpc", lbPolicy: "round_robin", metadata: {} };
    const instance = { service: "a", id: "i1", address: "10.0.0.1", port: 80, zone: "", region: "", weight: 1, health: "healthy", metadata: {} };
    await store.commit([{ kind: "put-instance", instance, serviceDefaults: defaults }]);
    await store.commit([{ kind: "put-instance", instance: { ...instance, id: "i2" }, serviceDefaults: defaults }]);
    console.log("ready");
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, "--", SQLITE_MODULE, dir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([once(lines, "line"), once(child, "exit").then(() => ["exited"])])) as string[];
  assert.equal(first, "ready", "the child could not open the store");
  return child;
}

test("sqlite store - another process holding the data dir locks it; after that process dies the data is all there", async () => {
  const { dir, cleanup } = await tempDir();
  let child: ChildProcess | undefined;
  try {
    child = await holdInChild(dir);
    await assert.rejects(openSqliteStore({ dataDir: dir }), /is in use by another steadymesh process/);
    const exited = once(child, "exit");
    // SIGKILL: no clean close, so this also shows acknowledged commits survive a crashed process.
    child.kill("SIGKILL");
    await exited;
    const store = await openSqliteStore({ dataDir: dir });
    const state = await store.load();
    assert.equal(state.revision, 2);
    assert.deepEqual(state.instances.map((i) => i.id), ["i1", "i2"]);
    assert.equal((await store.commit([putInstance("b", "i1")])).revision, 3);
    await store.close();
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await cleanup();
  }
});
