import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createCsr, createRootCa, generateKeyPair, loadCertificateAuthority, type CertificateAuthority } from "../../src/identity/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const START = Date.parse("2026-12-01T12:00:00Z");

async function adminWith(ca: CertificateAuthority | undefined): Promise<{ admin: AdminServer; close: () => Promise<void> }> {
  const registry = await createRegistry(createMemoryStore());
  const admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]), certificates: ca });
  return { admin, close: async () => (await admin.close(), await registry.close()) };
}

async function testCa(): Promise<CertificateAuthority> {
  const clock = createFakeClock(START);
  return loadCertificateAuthority(await createRootCa("mesh.test", clock), { trustDomain: "mesh.test", certTtlMs: 3600_000, clock });
}

async function post(admin: AdminServer, body: unknown) {
  const response = await admin.inject({ method: "POST", url: "/v1/certificates", payload: JSON.stringify(body), headers: { "content-type": "application/json" } });
  // any: tests poke into the answer.
  return { status: response.statusCode, body: response.json() as any };
}

test("admin certificates - a CSR for one service gets its chain, the CA certificate and the expiry", async () => {
  const ca = await testCa();
  const { admin, close } = await adminWith(ca);
  try {
    const { status, body } = await post(admin, { service: "checkout", csr: await createCsr("checkout", await generateKeyPair()) });
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ["caCertificate", "certificateChain", "expiresAt"]);
    assert.equal(body.caCertificate, ca.certificatePem);
    assert.equal(body.expiresAt, new Date(START + 3600_000).toISOString());
    const leaf = new X509Certificate(body.certificateChain);
    assert.equal(leaf.subjectAltName, "URI:spiffe://mesh.test/service/checkout");
    assert.ok(leaf.verify(new X509Certificate(body.caCertificate).publicKey));
  } finally {
    await close();
  }
});

test("admin certificates - bad requests are one-line 400s naming the field", async () => {
  const { admin, close } = await adminWith(await testCa());
  try {
    const cases: [unknown, RegExp][] = [
      [{ service: "checkout" }, /^csr: must be a string, a PEM certificate signing request$/],
      [{ csr: "x" }, /^service: must be a string/],
      [{ service: "checkout", csr: "x", key: "y" }, /^key: is not a field of a certificate request; allowed: service, csr$/],
      [{ service: "Bad_Name", csr: "x" }, /^service: /],
      [{ service: "checkout", csr: "not pem" }, /^csr: must be a PEM certificate signing request/],
      [{ service: "checkout", csr: await createCsr("admin", await generateKeyPair()) }, /^csr: asks for CN "admin"; allowed: CN checkout or spiffe:\/\/mesh\.test\/service\/checkout/],
      [[1], /^must be a JSON object/],
    ];
    for (const [body, error] of cases) {
      const answer = await post(admin, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match(answer.body.error, error);
      assert.ok(!answer.body.error.includes("\n"));
    }
  } finally {
    await close();
  }
});

test("admin certificates - a server without a CA answers 404 and says so", async () => {
  const { admin, close } = await adminWith(undefined);
  try {
    const answer = await post(admin, { service: "checkout", csr: "x" });
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error, "this server runs no certificate authority, so it signs no certificates");
  } finally {
    await close();
  }
});
