import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { CACHE_FORMAT, MAX_CACHE_FILE_BYTES, createEndpointCache, type CacheEntry, type CacheMiss } from "../../src/client/endpoint-cache.js";
import type { ResolvedEndpoint } from "../../src/client/endpoint.js";
import { CacheWriteError, EmptyEndpointsError, InvalidCacheTargetError } from "../../src/client/errors.js";
import type { ClientLogger } from "../../src/client/logger.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { ValidationError } from "../../src/errors/index.js";

const OUTAGE = Date.parse("2022-03-08T18:07:00.000Z");
const ENDPOINTS: ResolvedEndpoint[] = [
  { address: "10.0.0.1", port: 8080, weight: 1, zone: "z1", region: "r1" },
  { address: "fd00::2", port: 8081, weight: 7 },
];

/** Records warn lines; the rest of the interface is there to be satisfied. */
function recordingLogger(): ClientLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(obj) {
      warnings.push(String((obj as { reason?: unknown }).reason));
    },
    error() {},
  };
}

let root: string;
let dir: string;

// The hooks are scoped to this file's tests: npm test runs every unit file in one process (test/unit-suite.ts).
describe("client - endpoint cache", () => {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steadymesh-cache-"));
    dir = join(root, "cache");
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function expectEntry(result: CacheEntry | CacheMiss): CacheEntry {
    assert.ok(result.ok, `expected a cache entry, got: ${result.ok ? "" : result.reason}`);
    return result;
  }

  function expectMiss(result: CacheEntry | CacheMiss): string {
    assert.ok(!result.ok, "expected a cache miss, got an entry");
    return result.reason;
  }

  test("client - endpoint cache round-trips a save in the versioned file format", async () => {
    const cache = createEndpointCache({ dir, clock: createFakeClock(OUTAGE) });
    await cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "v42" });
    const path = join(dir, "login.endpoints.json");
    const entry = expectEntry(await cache.load("login"));
    assert.deepEqual(entry, { ok: true, endpoints: ENDPOINTS, source: "xds", version: "v42", savedAt: "2022-03-08T18:07:00.000Z", path });
    assert.deepEqual(JSON.parse(await readFile(path, "utf8")), {
      format: CACHE_FORMAT,
      formatVersion: 1,
      target: "login",
      source: "xds",
      version: "v42",
      savedAt: "2022-03-08T18:07:00.000Z",
      endpoints: ENDPOINTS,
    });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  test("client - endpoint cache survives a restart (new cache object, same directory)", async () => {
    await createEndpointCache({ dir }).save("login.prod_v2", { endpoints: ENDPOINTS, source: "dns" });
    const entry = expectEntry(await createEndpointCache({ dir }).load("login.prod_v2"));
    assert.deepEqual(entry.endpoints, ENDPOINTS);
    assert.equal(entry.source, "dns");
    assert.equal("version" in entry, false);
  });

  test("client - endpoint cache drops empty localities and fields outside the contract", async () => {
    const cache = createEndpointCache({ dir });
    const extra = { address: "10.0.0.3", port: 1, weight: 1, zone: "", region: "", health: "HEALTHY" } as ResolvedEndpoint;
    await cache.save("login", { endpoints: [extra], source: "xds" });
    assert.deepEqual(expectEntry(await cache.load("login")).endpoints, [{ address: "10.0.0.3", port: 1, weight: 1 }]);
  });

  test("client - endpoint cache leaves no temp file behind and ignores a crashed writer's", async () => {
    const cache = createEndpointCache({ dir });
    await cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "1" });
    assert.deepEqual(await readdir(dir), ["login.endpoints.json"]);
    // A writer that died between creating its temp file and the rename.
    await writeFile(join(dir, ".login.endpoints.json.999999.1.tmp"), '{"format":"steadymesh.endpoi');
    assert.equal(expectEntry(await cache.load("login")).version, "1");
    await cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "2" });
    assert.equal(expectEntry(await createEndpointCache({ dir }).load("login")).version, "2");
  });

  test("client - endpoint cache with only a crashed temp file is a miss", async () => {
    await mkdir(dir);
    await writeFile(join(dir, ".login.endpoints.json.999999.1.tmp"), "{}");
    const path = join(dir, "login.endpoints.json");
    assert.equal(expectMiss(await createEndpointCache({ dir }).load("login")), `no cache file at ${path}`);
  });

  test("client - endpoint cache keeps the previous file when a write fails", async () => {
    await createEndpointCache({ dir }).save("login", { endpoints: ENDPOINTS, source: "xds", version: "old" });
    // A directory where the next cache object's first temp file would go makes that write fail.
    await mkdir(join(dir, `.login.endpoints.json.${process.pid}.1.tmp`));
    const cache = createEndpointCache({ dir });
    await assert.rejects(cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "new" }), (err: unknown) => {
      assert.ok(err instanceof CacheWriteError);
      assert.equal(err.code, "unavailable");
      assert.equal((err.cause as NodeJS.ErrnoException).code, "EEXIST");
      return true;
    });
    assert.equal(expectEntry(await cache.load("login")).version, "old");
    await cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "next" });
    assert.equal(expectEntry(await cache.load("login")).version, "next", "a failed save does not block later ones");
  });

  test("client - endpoint cache reports a missing file without a warning", async () => {
    const logger = recordingLogger();
    const reason = expectMiss(await createEndpointCache({ dir, logger }).load("login"));
    assert.equal(reason, `no cache file at ${join(dir, "login.endpoints.json")}`);
    assert.deepEqual(logger.warnings, []);
  });

  const GOOD_FILE = {
    format: CACHE_FORMAT,
    formatVersion: 1,
    target: "login",
    source: "xds",
    savedAt: "2022-03-08T18:07:00.000Z",
    endpoints: [{ address: "10.0.0.1", port: 8080, weight: 1 }],
  };
  const withEndpoint = (patch: object) => JSON.stringify({ ...GOOD_FILE, endpoints: [{ ...GOOD_FILE.endpoints[0], ...patch }] });

  const MALFORMED: [string, string, RegExp][] = [
    ["truncated JSON", '{"format": "steadymesh.endpoints", "endpo', /^invalid JSON in \S+login\.endpoints\.json: /],
    ["a JSON array", "[]", /does not hold a JSON object/],
    ["another format", JSON.stringify({ ...GOOD_FILE, format: "envoy.eds" }), /is not a steadymesh endpoints file \(format "envoy\.eds", expected "steadymesh\.endpoints"\)/],
    ["no format", JSON.stringify({ endpoints: [] }), /is not a steadymesh endpoints file \(format undefined/],
    ["a newer version", JSON.stringify({ ...GOOD_FILE, formatVersion: 2 }), /has formatVersion 2; this client reads 1/],
    ["a host name", withEndpoint({ address: "login-1.node.mesh" }), /endpoints\[0\]\.address: must be an IPv4 or IPv6 literal, got "login-1\.node\.mesh"/],
    ["port 0", withEndpoint({ port: 0 }), /endpoints\[0\]\.port: must be an integer from 1 to 65535, got 0/],
    ["port 65536", withEndpoint({ port: 65536 }), /endpoints\[0\]\.port: must be an integer from 1 to 65535, got 65536/],
    ["weight 0", withEndpoint({ weight: 0 }), /endpoints\[0\]\.weight: must be an integer from 1 to 4294967295, got 0/],
    ["no endpoints", JSON.stringify({ ...GOOD_FILE, endpoints: [] }), /lists no endpoints/],
    ["a bad source", JSON.stringify({ ...GOOD_FILE, source: "cache" }), /source: must be "xds" or "dns", got "cache"/],
    ["a bad savedAt", JSON.stringify({ ...GOOD_FILE, savedAt: "yesterday" }), /savedAt: must be an ISO 8601 date-time, got "yesterday"/],
    ["another target", JSON.stringify({ ...GOOD_FILE, target: "billing" }), /is for target "billing", not "login"/],
    ["an oversized file", " ".repeat(MAX_CACHE_FILE_BYTES + 1), new RegExp(`is ${MAX_CACHE_FILE_BYTES + 1} bytes, more than the ${MAX_CACHE_FILE_BYTES}-byte limit`)],
  ];

  test("client - endpoint cache turns every malformed file into a miss naming the problem", async () => {
    await mkdir(dir);
    for (const [name, content, expected] of MALFORMED) {
      await writeFile(join(dir, "login.endpoints.json"), content);
      const logger = recordingLogger();
      const reason = expectMiss(await createEndpointCache({ dir, logger }).load("login"));
      assert.match(reason, expected, name);
      assert.deepEqual(logger.warnings, [reason], `${name}: logged once at warn`);
    }
  });

  test("client - endpoint cache accepts the good file the malformed cases derive from", async () => {
    await mkdir(dir);
    await writeFile(join(dir, "login.endpoints.json"), JSON.stringify(GOOD_FILE));
    assert.deepEqual(expectEntry(await createEndpointCache({ dir }).load("login")).endpoints, GOOD_FILE.endpoints);
  });

  test("client - endpoint cache reports an unreadable file as a miss", async () => {
    await mkdir(join(dir, "login.endpoints.json"), { recursive: true });
    const logger = recordingLogger();
    const reason = expectMiss(await createEndpointCache({ dir, logger }).load("login"));
    assert.match(reason, /^cannot read \S+login\.endpoints\.json: EISDIR/);
    assert.equal(logger.warnings.length, 1);
  });

  test("client - endpoint cache serializes concurrent saves of a target and the last call wins", async () => {
    const cache = createEndpointCache({ dir });
    const big = Array.from({ length: 20_000 }, (_, i) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 8080, weight: 1 }));
    const finished: number[] = [];
    // Big lists first: without serialization the small last write finishes first and is then overwritten.
    const saves = [0, 1, 2, 3, 4].map((n) =>
      cache.save("login", { endpoints: n < 4 ? big : ENDPOINTS, source: "xds", version: String(n) }).then(() => finished.push(n)),
    );
    await Promise.all(saves);
    assert.deepEqual(finished, [0, 1, 2, 3, 4]);
    const entry = expectEntry(await createEndpointCache({ dir }).load("login"));
    assert.equal(entry.version, "4");
    assert.deepEqual(entry.endpoints, ENDPOINTS);
    assert.deepEqual(await readdir(dir), ["login.endpoints.json"]);
  });

  test("client - endpoint cache rejects bad target names before touching disk", async () => {
    const cache = createEndpointCache({ dir });
    for (const target of ["", "Login", "../etc", "a/b", ".hidden", "-x", "_x", "a b", "login\u0000", "x".repeat(201)]) {
      await assert.rejects(cache.save(target, { endpoints: ENDPOINTS, source: "xds" }), InvalidCacheTargetError, JSON.stringify(target));
      await assert.rejects(cache.load(target), InvalidCacheTargetError, JSON.stringify(target));
    }
    await assert.rejects(stat(dir), { code: "ENOENT" });
    await cache.save("x".repeat(200), { endpoints: ENDPOINTS, source: "xds" });
  });

  test("client - endpoint cache refuses an empty list and keeps the previous one", async () => {
    const cache = createEndpointCache({ dir });
    await assert.rejects(cache.save("login", { endpoints: [], source: "xds" }), (err: unknown) => err instanceof EmptyEndpointsError && err.code === "invalid-argument");
    await assert.rejects(stat(dir), { code: "ENOENT" }, "nothing was written");
    await cache.save("login", { endpoints: ENDPOINTS, source: "xds", version: "good" });
    await assert.rejects(cache.save("login", { endpoints: [], source: "dns" }), EmptyEndpointsError);
    assert.equal(expectEntry(await cache.load("login")).version, "good");
  });

  test("client - endpoint cache refuses invalid endpoints with every problem and its path", async () => {
    const cache = createEndpointCache({ dir });
    const bad = [ENDPOINTS[0]!, { address: "login-1", port: 0, weight: 1 }, { address: "10.0.0.3", port: 1, weight: 0.5 }];
    await assert.rejects(cache.save("login", { endpoints: bad, source: "xds" }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["endpoints[1].address", "endpoints[1].port", "endpoints[2].weight"]);
      return true;
    });
    await assert.rejects(stat(dir), { code: "ENOENT" });
  });
});
