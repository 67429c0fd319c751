import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import Database from "better-sqlite3";
import { UnavailableError } from "../../src/errors/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { bodiesAsHex, CDS, EDS, resource, runGenerationLogContract } from "./generation-log-contract.js";
import { instance, putInstance, runStoreContract, service } from "./store-contract.js";

const SQLITE_MODULE = new URL("../../src/registry/stores/sqlite.ts", import.meta.url).href;

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-sqlite-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

runStoreContract("sqlite", async () => {
  const { dir, cleanup } = await tempDir();
  return { store: await openSqliteStore({ dataDir: dir }), reopen: () => openSqliteStore({ dataDir: dir }), cleanup };
});

runGenerationLogContract("sqlite", async () => {
  const { dir, cleanup } = await tempDir();
  const open = async () => {
    const backend = await openSqliteStore({ dataDir: dir });
    return { log: backend.generations, close: () => backend.close() };
  };
  return { ...(await open()), reopen: open, cleanup };
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
    // The listener keeps the store reachable: a store nothing refers to is garbage-collected, which closes
    // its connection and releases the lock (seen under load: the parent then opened the "locked" dir).
    process.stdin.on("end", () => void store.close()).resume();
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

/** Reads registry.db on its own connection; the store must be closed first, as it holds the file exclusively. */
function readDatabase<T>(dir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, "registry.db"), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function countRows(db: Database.Database, table: string): number {
  return db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
}

test("sqlite store - stores each resource body once and each version as one span, however many generations hold it, and drops them with the last", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const shared = [1, 2, 3];
    let store = await openSqliteStore({ dataDir: dir });
    for (const id of [1, 2, 3]) {
      await store.generations.put({ id, record: { id } }, [resource(CDS, "a", shared), resource(EDS, "a", shared), resource(CDS, `own-${id}`, [id])]);
    }
    await store.close();
    // Spans: CDS a and EDS a held by 1–3, own-1, own-2, own-3 by one each: 5 rows for 9 (generation, resource) pairs.
    assert.deepEqual(readDatabase(dir, (db) => [countRows(db, "resource_spans"), countRows(db, "resource_bodies"), countRows(db, "generation_resources")]), [5, 4, 0]);

    store = await openSqliteStore({ dataDir: dir });
    await store.generations.retain(new Set([3]));
    await store.close();
    assert.deepEqual(readDatabase(dir, (db) => [countRows(db, "resource_spans"), countRows(db, "resource_bodies")]), [3, 2]);

    store = await openSqliteStore({ dataDir: dir });
    await store.generations.retain(new Set());
    await store.close();
    assert.deepEqual(readDatabase(dir, (db) => [countRows(db, "generations"), countRows(db, "resource_bodies")]), [0, 0]);
  } finally {
    await cleanup();
  }
});

/** `count` CDS resources named r-0…, each body [k, version]. */
function numbered(count: number, version: number): ReturnType<typeof resource>[] {
  return Array.from({ length: count }, (_, k) => resource(CDS, `r-${String(k).padStart(5, "0")}`, [k & 255, k >> 8, version]));
}

test("sqlite store - a generation of thousands of changes is written over several event-loop turns; until it is done readers see the generations before it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await openSqliteStore({ dataDir: dir });
    const log = store.generations;
    await log.put({ id: 1, record: { id: 1 } }, numbered(3000, 1));
    const turns: string[] = [];
    const changed = numbered(3000, 2).slice(0, 2000);
    const writing = log.put({ id: 2, record: { id: 2 } }, { base: 1, upserts: changed, removals: [{ typeUrl: CDS, name: "r-02999" }] });
    // Each turn the write yields, a reader sees generation 1 whole and no generation 2.
    for (let k = 0; k < 3; k++) {
      await new Promise((resolve) => setImmediate(resolve));
      const one = await log.resources(1);
      turns.push(`${(await log.list()).map((g) => g.id).join(",")}:${one?.length}:${one?.[0]?.body[2]}:${(await log.resources(2))?.length ?? "none"}`);
    }
    await writing;
    assert.deepEqual(turns, ["1:3000:1:none", "1:3000:1:none", "1:3000:1:none"]);
    const two = await log.resources(2);
    assert.equal(two?.length, 2999);
    assert.deepEqual(two?.slice(0, 2000).map((r) => r.body[2]), changed.map(() => 2));
    assert.deepEqual(two?.slice(2000).map((r) => r.body[2]), Array.from({ length: 999 }, () => 1));
    assert.equal((await log.resources(1))?.length, 3000);
    await store.close();
  } finally {
    await cleanup();
  }
});

test("sqlite store - span edits left by a generation write that never finished (a crash) are undone on the next open", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    let store = await openSqliteStore({ dataDir: dir });
    await store.generations.put({ id: 1, record: { id: 1 } }, numbered(10, 1));
    await store.close();
    // What a crash part-way through writing generation 2 leaves: a version of r-00003 begun, r-00004's span ended, no mark for 2.
    const db = new Database(join(dir, "registry.db"));
    db.prepare("UPDATE resource_spans SET last = 2 WHERE name IN ('r-00003', 'r-00004') AND last IS NULL").run();
    db.prepare("INSERT INTO resource_spans (type_url, name, hash, first) SELECT type_url, name, hash, 2 FROM resource_spans WHERE name = 'r-00005'").run();
    db.prepare("UPDATE resource_spans SET name = 'r-00003' WHERE first = 2").run();
    db.close();
    store = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(bodiesAsHex(await store.generations.resources(1)), bodiesAsHex(numbered(10, 1)));
    assert.equal(await store.generations.resources(2), undefined);
    // The next generation is written against generation 1 as it was.
    await store.generations.put({ id: 2, record: { id: 2 } }, { base: 1, upserts: [resource(CDS, "r-00000", [9])], removals: [] });
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), bodiesAsHex([resource(CDS, "r-00000", [9]), ...numbered(10, 1).slice(1)]));
    await store.close();
  } finally {
    await cleanup();
  }
});

/** The schema steadymesh wrote before the generation log existed. */
const SCHEMA_V1 = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
  INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
  CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS instances (
    service TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (service, id)
  ) STRICT;
`;

async function writeDatabase(dir: string, version: number, sql: string): Promise<void> {
  const db = new Database(join(dir, "registry.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.exec(sql);
    db.pragma(`user_version = ${version}`);
  } finally {
    db.close();
  }
}

test("sqlite store - migrates a version-1 registry.db in place: the registry is intact and the generation log starts empty", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = service("a", { metadata: { team: "core" } });
    const i1 = instance("a", "i1", { port: 9090 });
    await writeDatabase(dir, 1, `${SCHEMA_V1}
      UPDATE meta SET value = 7 WHERE key = 'revision';
      INSERT INTO services (name, value) VALUES ('a', '${JSON.stringify(a)}');
      INSERT INTO instances (service, id, value) VALUES ('a', 'i1', '${JSON.stringify(i1)}');
    `);
    const store = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(await store.load(), { revision: 7, services: [a], instances: [i1] });
    assert.deepEqual(await store.generations.list(), []);
    await store.generations.put({ id: 1, record: { status: "pushed" } }, [resource(CDS, "a", [1])]);
    assert.equal((await store.commit([putInstance("a", "i2")])).revision, 8);
    await store.close();
    assert.equal(readDatabase(dir, (db) => db.pragma("user_version", { simple: true })), 3);

    const reopened = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(await reopened.generations.list(), [{ id: 1, record: { status: "pushed" } }]);
    assert.deepEqual(bodiesAsHex(await reopened.generations.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }]);
    assert.equal((await reopened.load()).instances.length, 2);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test("sqlite store - opens a version-2 registry.db: its generations read back from their old rows, new ones are spans, and retain prunes both", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const body = Buffer.from([7, 7]);
    const hash = createHash("sha256").update(body).digest("hex");
    await writeDatabase(dir, 2, `${SCHEMA_V1}
      CREATE TABLE generations (id INTEGER PRIMARY KEY, record TEXT NOT NULL) STRICT;
      CREATE TABLE generation_resources (generation INTEGER NOT NULL, type_url TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (generation, type_url, name)) STRICT;
      CREATE TABLE resource_bodies (hash TEXT PRIMARY KEY, body BLOB NOT NULL) STRICT;
      INSERT INTO generations (id, record) VALUES (1, '{"status":"pushed"}'), (2, '{"status":"pushed"}');
      INSERT INTO generation_resources VALUES (1, '${CDS}', 'a', '${hash}'), (2, '${CDS}', 'a', '${hash}');
      INSERT INTO resource_bodies VALUES ('${hash}', x'0707');
    `);
    const store = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), [{ typeUrl: CDS, name: "a", body: "0707" }]);
    await store.generations.put({ id: 3, record: {} }, [resource(CDS, "a", [7, 7]), resource(CDS, "b", [1])]);
    await store.generations.put({ id: 4, record: {} }, { base: 3, upserts: [resource(CDS, "b", [2])], removals: [] });
    await store.generations.retain(new Set([2, 4]));
    assert.equal(await store.generations.resources(1), undefined);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), [{ typeUrl: CDS, name: "a", body: "0707" }]);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(4)), [{ typeUrl: CDS, name: "a", body: "0707" }, { typeUrl: CDS, name: "b", body: "02" }]);
    await store.close();
    assert.deepEqual(readDatabase(dir, (db) => [countRows(db, "generation_resources"), countRows(db, "resource_spans"), countRows(db, "resource_bodies")]), [1, 2, 2]);
  } finally {
    await cleanup();
  }
});

test("sqlite store - a generation that changes one resource of 10,000 grows registry.db by a few KB (measured bound: under 10 KB each over 20 generations)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const store = await openSqliteStore({ dataDir: dir });
    const cla = (n: number, v: number) => resource(EDS, `svc-${n}`, Array.from({ length: 300 }, (_, i) => (i * 7 + n + v) % 256));
    await store.generations.put({ id: 1, record: { status: "pushed" } }, Array.from({ length: 10_000 }, (_, n) => cla(n, 0)));
    const size = () => readDatabase(dir, (db) => (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number));
    await store.close();
    const before = size();
    const reopened = await openSqliteStore({ dataDir: dir });
    // A record as the guard writes it: status, diff, history; about 600 bytes of JSON.
    const record = (id: number) => ({ id, status: "pushed", diff: { types: { EDS: { added: [], removed: [], changed: [`svc-${id}`] } } }, history: [{ at: new Date(0).toISOString(), status: "pushed", detail: "passed the guard" }] });
    for (let id = 2; id <= 21; id++) await reopened.generations.put({ id, record: record(id) }, { base: id - 1, upserts: [cla(id, id)], removals: [] });
    await reopened.close();
    const perGeneration = (size() - before) / 20;
    console.log(`# registry.db grew ${Math.round(perGeneration)} bytes per one-resource generation (10,000 resources of 300 bytes)`);
    assert.ok(perGeneration < 10_240, `${perGeneration} bytes per generation`);
  } finally {
    await cleanup();
  }
});

test("sqlite store - refuses a registry.db from a newer schema version, with UnavailableError", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeDatabase(dir, 4, SCHEMA_V1);
    await assert.rejects(openSqliteStore({ dataDir: dir }), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.message, "registry.db has schema version 4, newer than this steadymesh supports (3)");
      return true;
    });
  } finally {
    await cleanup();
  }
});
