/**
 * @steadymesh/client as a user gets it: `npm pack` of packages/client (its
 * prepack builds it), the tarball installed alone into an empty project, and
 * a `steady:` target resolved with it against a real control plane on
 * loopback.
 *
 * The install never reaches the network: `npm ci --offline` takes every
 * package from npm's cache, which the `npm ci` that set up this checkout has
 * filled (the client's dependencies are all the repository's too). It
 * installs from a lockfile made here: the tarball, then its dependencies and
 * peers as the repository's package-lock.json pins them. `npm install
 * --offline <tarball>` cannot do it: npm 11 asks for full packuments when it
 * resolves new ranges, and `npm ci` caches only the abbreviated ones, so it
 * fails with ENOTCACHED even with a warm cache. About 15 s.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startControlPlane, tempDir, type TestControlPlane } from "../helpers/control-plane.js";
import { startBackend, type Backend } from "../helpers/greeter.js";

const run = promisify(execFile);
const REPO_DIR = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE_DIR = join(REPO_DIR, "packages", "client");

/** src/ folders of the control plane, which the client's build must not contain. */
const SERVER_SIDE_FOLDERS = ["xds", "registry", "admin", "server", "snapshot", "guard", "dns", "lab", "demo", "health", "cli", "faults", "log", "metrics"];

/** What the client's users used to install only to resolve `steady:` targets; grpc-js-xds too, now that the protos are bundled. */
const SERVER_SIDE_PACKAGES = ["better-sqlite3", "etcd3", "fastify", "vega", "vega-lite", "@resvg/resvg-js", "@grpc/grpc-js-xds", "steadymesh"];

/**
 * An application that installs nothing but @steadymesh/client (npm adds its
 * peer @grpc/grpc-js): HelloRequest and HelloReply of examples/greeter.proto
 * are written and read by hand, strings under 128 bytes, so it needs no
 * proto loader.
 */
const APP = `
import * as grpc from "@grpc/grpc-js";
import { registerSteadyResolver } from "@steadymesh/client";

const [xdsServer, target] = process.argv.slice(2);
const steady = registerSteadyResolver({ xdsServers: [xdsServer], nodeId: "client-package-test", dns: false });
const encode = (name) => Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(name)]), Buffer.from(name)]);
function decode(bytes) {
  const fields = {};
  for (let at = 0; at < bytes.length; at += 2 + bytes[at + 1]) fields[bytes[at] >> 3] = bytes.subarray(at + 2, at + 2 + bytes[at + 1]).toString();
  return { message: fields[1], backend: fields[2] };
}
const client = new grpc.Client(target, grpc.credentials.createInsecure());
client.makeUnaryRequest("/steadymesh.test.Greeter/SayHello", encode, decode, "package", { deadline: Date.now() + 10000 }, (err, reply) => {
  console.log(JSON.stringify(err ? { error: err.message } : { reply, sources: steady.sources() }));
  client.close();
  void steady.close().then(() => process.exit(err ? 1 : 0));
});
`;

/**
 * npm's own settings for the child npm, but none that `npm test` set for the
 * repository (npm_config_local_prefix would install into the repository).
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_userconfig", "npm_config_globalconfig", "npm_config_cafile", "npm_config_registry"]);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_") || keep.has(key.toLowerCase())));
}

/** Every package in a node_modules tree, nested ones included, by name. */
async function installedPackages(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  const entries = await readdir(nodeModules, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return []; // a package with no nested node_modules
    throw error;
  });
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith("."))) {
    const dirs = entry.name.startsWith("@")
      ? (await readdir(join(nodeModules, entry.name))).map((name) => `${entry.name}/${name}`)
      : [entry.name];
    for (const name of dirs) names.push(name, ...(await installedPackages(join(nodeModules, name, "node_modules"))));
  }
  return names;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
}

interface Packed {
  filename: string;
  integrity: string;
  files: { path: string }[];
}

/** Where node would find `name` from the package at lock path `from`: its own node_modules, then each parent's. */
function lockPathOf(packages: Record<string, LockEntry>, from: string, name: string): string {
  for (let at = from; ; at = at.replace(/\/?(node_modules\/)?(@[^/]+\/)?[^/]+$/, "")) {
    const candidate = `${at ? at + "/" : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!at) throw new Error(`the repository's package-lock.json has no ${name} for ${from || "the root"}`);
  }
}

/**
 * A lockfile for an app that depends on the packed client alone: the client
 * (as packages/client in the repository's lock) and everything its
 * dependencies and non-optional peers pull in, at the versions and paths
 * that lock pins, so every tarball is one `npm ci` has cached.
 */
async function appLockfile(packed: Packed): Promise<object> {
  const repo = JSON.parse(await readFile(join(REPO_DIR, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const manifest = JSON.parse(await readFile(join(PACKAGE_DIR, "package.json"), "utf8")) as LockEntry;
  const client: LockEntry = {
    version: manifest.version,
    resolved: `file:${packed.filename}`,
    integrity: packed.integrity,
    dependencies: manifest.dependencies,
    peerDependencies: manifest.peerDependencies,
  };
  const out: Record<string, LockEntry> = {
    "": { dependencies: { "@steadymesh/client": `file:${packed.filename}` } },
    "node_modules/@steadymesh/client": client,
  };
  // The client's dependencies resolve as they do in the repository, from packages/client.
  const queue: [string, LockEntry][] = [["packages/client", client]];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const [from, entry] = next;
    const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional).map(([name]) => name);
    const names = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies }).filter((n) => !optionalPeers.includes(n));
    for (const name of names) {
      const path = lockPathOf(repo.packages, from, name);
      const target = path.replace(/^packages\/client\//, "");
      if (out[target]) continue;
      const { dev: _dev, devOptional: _devOptional, ...kept } = repo.packages[path]!;
      out[target] = kept;
      queue.push([path, kept]);
    }
  }
  return { name: "app", lockfileVersion: 3, requires: true, packages: out };
}

let project: { path: string; cleanup(): Promise<void> };
let cp: TestControlPlane;
let backend: Backend;
let packed: Packed;

before(async () => {
  project = await tempDir("steadymesh-client-package-");
  cp = await startControlPlane();
  backend = await startBackend("b1");
  await cp.register("greeter", "b1", backend.port);
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", project.path], { cwd: PACKAGE_DIR, env: npmEnv() });
  // --json prints the pack report after prepack's own output.
  packed = (JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1)) as (typeof packed)[])[0]!;
  const manifest = { name: "app", private: true, type: "module", dependencies: { "@steadymesh/client": `file:${packed.filename}` } };
  await writeFile(join(project.path, "package.json"), JSON.stringify(manifest));
  await writeFile(join(project.path, "package-lock.json"), JSON.stringify(await appLockfile(packed)));
  await writeFile(join(project.path, "app.mjs"), APP);
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: project.path, env: npmEnv() });
});

after(async () => {
  await backend?.stop();
  await cp?.close();
  await project?.cleanup();
});

test("client package - the tarball holds the client's build and the envoy protos, nothing of the control plane", () => {
  const paths = packed.files.map((f) => f.path);
  assert.ok(paths.includes("dist/client/index.js") && paths.includes("dist/client/index.d.ts"), paths.join("\n"));
  assert.ok(paths.includes("dist/protos/envoy-api/envoy/service/discovery/v3/ads.proto"), paths.join("\n"));
  const folders = new Set(paths.filter((p) => p.startsWith("dist/") && p.endsWith(".js")).map((p) => p.split("/")[1]));
  assert.ok(folders.has("client") && folders.has("proto"), [...folders].join(" "));
  assert.deepEqual(SERVER_SIDE_FOLDERS.filter((folder) => folders.has(folder)), [], [...folders].join(" "));
});

test("client package - installed alone, it brings only the client's dependencies", async () => {
  const installed = await installedPackages(join(project.path, "node_modules"));
  assert.ok(installed.includes("@steadymesh/client") && installed.includes("@grpc/grpc-js"), installed.join(" "));
  assert.deepEqual(SERVER_SIDE_PACKAGES.filter((name) => installed.includes(name)), [], installed.join(" "));
  const manifest = JSON.parse(await readFile(join(project.path, "package.json"), "utf8")) as { dependencies: object };
  assert.deepEqual(Object.keys(manifest.dependencies), ["@steadymesh/client"]);
});

test("client package - an application with it resolves steady:///greeter through live xDS and makes an RPC", async () => {
  const { stdout } = await run(process.execPath, ["app.mjs", `127.0.0.1:${cp.xds.port}`, "steady:///greeter"], {
    cwd: project.path,
    timeout: 20_000,
  });
  const result = JSON.parse(stdout) as { reply: { message: string; backend: string }; sources: Record<string, string> };
  assert.deepEqual(result, { reply: { message: "hello package", backend: "b1" }, sources: { greeter: "xds" } });
  assert.equal(backend.calls(), 1);
});
