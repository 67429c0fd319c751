import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import { createRootCa } from "../../src/identity/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMemoryStore } from "../../src/registry/index.js";
import { defaultTlsSans, SERVE_DEFAULTS, type ServeOptions } from "../../src/server/index.js";
import { setUpIdentity } from "../../src/server/tls-setup.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const clock = createFakeClock(Date.parse("2026-12-01T12:00:00Z"));

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-serve-identity-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function options(dir: string, extra: Partial<ServeOptions> = {}): ServeOptions {
  return { ...SERVE_DEFAULTS, store: "memory", dataDir: join(dir, "data"), logger: createSilentLogger(), ...extra };
}

test("serve identity - without --tls: a CA, no serving certificate, no ca.pem", async () => {
  await withDir(async (dir) => {
    const identity = await setUpIdentity(options(dir), createMemoryStore().secrets, clock);
    assert.match(identity.ca.certificatePem, /BEGIN CERTIFICATE/);
    assert.equal(identity.tls, undefined);
    assert.equal(identity.caFile, undefined);
    await assert.rejects(stat(join(dir, "data", "ca.pem")), { code: "ENOENT" });
  });
});

test("serve identity - --tls: a serving certificate from the CA for the default names, and <data-dir>/ca.pem (0644)", async () => {
  await withDir(async (dir) => {
    const identity = await setUpIdentity(options(dir, { tls: { sans: [] } }), createMemoryStore().secrets, clock);
    assert.equal(identity.caFile, join(dir, "data", "ca.pem"));
    assert.equal(await readFile(identity.caFile!, "utf8"), identity.ca.certificatePem);
    assert.equal((await stat(identity.caFile!)).mode & 0o777, 0o644);
    const serving = new X509Certificate(identity.tls!.certificateChain);
    assert.ok(serving.verify(new X509Certificate(identity.ca.certificatePem).publicKey));
    for (const name of defaultTlsSans()) assert.ok(serving.subjectAltName?.includes(name.includes(":") ? "0:0:0:0:0:0:0:1" : name), name);
    assert.deepEqual(defaultTlsSans("Box-1"), ["localhost", "127.0.0.1", "::1", "box-1"]);
  });
});

test("serve identity - --ca-cert/--ca-key and --tls-cert/--tls-key are read from their files", async () => {
  await withDir(async (dir) => {
    const given = await createRootCa("corp.example", clock);
    await writeFile(join(dir, "ca.crt"), given.certificatePem);
    await writeFile(join(dir, "ca.key"), given.privateKeyPem);
    await writeFile(join(dir, "tls.crt"), "CHAIN");
    await writeFile(join(dir, "tls.key"), "KEY");
    const store = createMemoryStore();
    const identity = await setUpIdentity(
      options(dir, { caFiles: { certificate: join(dir, "ca.crt"), key: join(dir, "ca.key") }, tls: { sans: [], files: { certificate: join(dir, "tls.crt"), key: join(dir, "tls.key") } } }),
      store.secrets,
      clock,
    );
    assert.equal(identity.ca.certificatePem.trim(), given.certificatePem.trim());
    assert.deepEqual(identity.tls, { certificateChain: "CHAIN", privateKeyPem: "KEY" });
    assert.equal(await store.secrets.get("ca/steadymesh.local"), undefined);
  });
});

test("serve identity - a CA file that cannot be read is one line naming the flag and the file, not its contents", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "nope.key");
    await writeFile(join(dir, "ca.crt"), "x");
    await assert.rejects(
      setUpIdentity(options(dir, { caFiles: { certificate: join(dir, "ca.crt"), key: missing } }), createMemoryStore().secrets, clock),
      (err: unknown) => err instanceof UnavailableError && err.message === `cannot read --ca-key ${missing}: ENOENT`,
    );
  });
});
