import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ValidationError } from "../../src/errors/index.js";
import { createCsr, createRootCa, generateKeyPair, loadCertificateAuthority, obtainCertificateAuthority, privateKeyPem, type CertificateAuthority } from "../../src/identity/index.js";
import { importPrivateKey } from "../../src/identity/keys.js";
import { x509 } from "../../src/identity/x509.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMemoryStore } from "../../src/registry/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const START = Date.parse("2026-12-01T12:00:00Z");
const HOUR = 3600_000;
const logger = createSilentLogger();

async function freshCa(certTtlMs = 24 * HOUR, trustDomain = "example.org"): Promise<CertificateAuthority> {
  const clock = createFakeClock(START);
  return loadCertificateAuthority(await createRootCa(trustDomain, clock), { trustDomain, certTtlMs, clock });
}

function firstCertificate(chain: string): X509Certificate {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chain);
  assert.ok(pem, "no certificate in the chain");
  return new X509Certificate(pem[0]);
}

test("identity - a workload certificate verifies against the CA with node:crypto and carries the SPIFFE ID", async () => {
  const ca = await freshCa();
  const csr = await createCsr("checkout", await generateKeyPair());
  const issued = await ca.signWorkload("checkout", csr);
  const leaf = firstCertificate(issued.certificateChain);
  const root = new X509Certificate(issued.caCertificate);
  assert.ok(root.ca);
  assert.ok(leaf.verify(root.publicKey), "leaf is not signed by the CA");
  assert.ok(leaf.checkIssued(root));
  assert.equal(leaf.ca, false);
  assert.equal(leaf.subjectAltName, "URI:spiffe://example.org/service/checkout");
  assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  // A different CA does not verify it.
  const other = new X509Certificate((await freshCa()).certificatePem);
  assert.equal(leaf.verify(other.publicKey), false);
});

test("identity - a workload certificate lives --cert-ttl from now, and expiresAt says so", async () => {
  const ca = await freshCa(2 * 60_000);
  const issued = await ca.signWorkload("checkout", await createCsr("checkout", await generateKeyPair()));
  const leaf = firstCertificate(issued.certificateChain);
  assert.equal(Date.parse(leaf.validTo), START + 2 * 60_000);
  assert.equal(issued.expiresAt, new Date(START + 2 * 60_000).toISOString());
  assert.ok(Date.parse(leaf.validFrom) <= START);
  const day = await (await freshCa()).signWorkload("x", await createCsr("x", await generateKeyPair()));
  assert.equal(Date.parse(day.expiresAt), START + 24 * HOUR);
});

test("identity - key usage is digitalSignature only (critical), basic constraints CA:false", async () => {
  const ca = await freshCa();
  const issued = await ca.signWorkload("pay", await createCsr("pay", await generateKeyPair()));
  const leaf = new x509.X509Certificate(firstCertificate(issued.certificateChain).raw);
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  assert.equal(usage?.usages, x509.KeyUsageFlags.digitalSignature);
  assert.equal(usage?.critical, true);
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
});

async function csrWith(params: { cn?: string; san?: { type: "url" | "dns"; value: string }[] }): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(params.cn !== undefined && { name: [{ CN: [params.cn] }] }),
    keys: await generateKeyPair(),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    ...(params.san && { extensions: [new x509.SubjectAlternativeNameExtension(params.san)] }),
  });
  return csr.toString("pem");
}

test("identity - a CSR asking for another service, in CN or SAN, is refused naming the field", async () => {
  const ca = await freshCa();
  const cases: [string, Promise<string>, RegExp][] = [
    ["CN of another service", csrWith({ cn: "admin" }), /^csr: asks for CN "admin"/],
    ["SAN URI of another service", csrWith({ san: [{ type: "url", value: "spiffe://example.org/service/admin" }] }), /^csr: asks for SAN URL/],
    ["SAN DNS", csrWith({ cn: "checkout", san: [{ type: "dns", value: "checkout" }] }), /^csr: asks for SAN DNS "checkout"/],
    ["another trust domain", csrWith({ san: [{ type: "url", value: "spiffe://evil.org/service/checkout" }] }), /spiffe:\/\/evil\.org/],
  ];
  for (const [name, csr, message] of cases) {
    await assert.rejects(ca.signWorkload("checkout", await csr), (err: unknown) => err instanceof ValidationError && message.test(err.message) && !err.message.includes("\n"), name);
  }
  // Its own SPIFFE ID and CN are fine.
  const own = await csrWith({ cn: "spiffe://example.org/service/checkout", san: [{ type: "url", value: "spiffe://example.org/service/checkout" }] });
  assert.ok((await ca.signWorkload("checkout", own)).certificateChain.includes("BEGIN CERTIFICATE"));
});

test("identity - a CSR that is not PEM, or whose signature does not verify, is refused", async () => {
  const ca = await freshCa();
  await assert.rejects(ca.signWorkload("checkout", "not a csr"), /^ValidationError: csr: must be a PEM certificate signing request/);
  // A CSR whose signature was made over other bytes: flip one bit inside the signed part.
  const good = new x509.Pkcs10CertificateRequest(await createCsr("checkout", await generateKeyPair()));
  const der = Buffer.from(good.rawData);
  const at = der.indexOf(Buffer.from("checkout"));
  der[at] = der[at]! ^ 0x01;
  const tampered = x509.PemConverter.encode(der, "CERTIFICATE REQUEST");
  await assert.rejects(ca.signWorkload("checkout", tampered), /csr: has a signature that does not verify/);
});

test("identity - serving certificates carry the DNS names and IP addresses asked for, EKU serverAuth", async () => {
  const ca = await freshCa();
  const serving = await ca.issueServing(["localhost", "127.0.0.1", "::1"]);
  const leaf = firstCertificate(serving.certificateChain);
  assert.ok(leaf.verify(new X509Certificate(ca.certificatePem).publicKey));
  assert.equal(leaf.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  assert.equal(leaf.checkHost("localhost"), "localhost");
  assert.equal(leaf.checkIP("127.0.0.1"), "127.0.0.1");
  assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  assert.match(serving.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test("identity - loading refuses a non-CA certificate and a key that is not the certificate's", async () => {
  const clock = createFakeClock(START);
  const options = { trustDomain: "example.org", certTtlMs: HOUR, clock };
  const a = await createRootCa("example.org", clock);
  const b = await createRootCa("example.org", clock);
  await assert.rejects(loadCertificateAuthority({ certificatePem: a.certificatePem, privateKeyPem: b.privateKeyPem }, options), /^ValidationError: ca-key: must be the private key of the CA certificate/);
  const ca = await loadCertificateAuthority(a, options);
  const serving = await ca.issueServing(["localhost"]);
  await assert.rejects(loadCertificateAuthority({ certificatePem: serving.certificateChain, privateKeyPem: serving.privateKeyPem }, options), /^ValidationError: ca-cert: must be a CA certificate/);
  await assert.rejects(loadCertificateAuthority({ certificatePem: a.certificatePem, privateKeyPem: "nope" }, options), (err: unknown) => err instanceof ValidationError && /^ca-key: must be an ECDSA P-256 private key/.test(err.message) && !err.message.includes("nope"));
});

test("identity - the built-in CA is created once, stored with the registry and reused after a reopen", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-identity-"));
  const clock = createFakeClock(START);
  const options = { trustDomain: "example.org", certTtlMs: HOUR, clock, logger };
  try {
    const first = await openSqliteStore({ dataDir: dir });
    const created = await obtainCertificateAuthority({ ...options, secrets: first.secrets });
    await first.close();
    const second = await openSqliteStore({ dataDir: dir });
    try {
      const reused = await obtainCertificateAuthority({ ...options, secrets: second.secrets });
      assert.equal(reused.certificatePem, created.certificatePem);
      // The reused CA signs: certificates verify against the first CA's certificate.
      const issued = await reused.signWorkload("checkout", await createCsr("checkout", await generateKeyPair()));
      assert.ok(firstCertificate(issued.certificateChain).verify(new X509Certificate(created.certificatePem).publicKey));
      // Another trust domain gets its own CA.
      const other = await obtainCertificateAuthority({ ...options, trustDomain: "other.org", secrets: second.secrets });
      assert.notEqual(other.certificatePem, created.certificatePem);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("identity - two replicas starting together on one store agree on one CA", async () => {
  const store = createMemoryStore();
  const clock = createFakeClock(START);
  const options = { trustDomain: "example.org", certTtlMs: HOUR, clock, logger, secrets: store.secrets };
  const [a, b] = await Promise.all([obtainCertificateAuthority(options), obtainCertificateAuthority(options)]);
  assert.equal(a.certificatePem, b.certificatePem);
  const issued = await b.signWorkload("checkout", await createCsr("checkout", await generateKeyPair()));
  assert.ok(firstCertificate(issued.certificateChain).verify(new X509Certificate(a.certificatePem).publicKey));
});

test("identity - a given CA (--ca-cert/--ca-key) is used and nothing is stored", async () => {
  const store = createMemoryStore();
  const clock = createFakeClock(START);
  const given = await createRootCa("example.org", clock);
  const ca = await obtainCertificateAuthority({ trustDomain: "example.org", certTtlMs: HOUR, clock, logger, secrets: store.secrets, given });
  assert.equal(ca.certificatePem.trim(), given.certificatePem.trim());
  assert.equal(await store.secrets.get("ca/example.org"), undefined);
});

test("identity - an intermediate CA: the chain carries it, and ca.pem carries what was given above it", async () => {
  const clock = createFakeClock(START);
  const root = await createRootCa("example.org", clock);
  const rootCert = new x509.X509Certificate(root.certificatePem);
  const keys = await generateKeyPair();
  const intermediate = await x509.X509CertificateGenerator.create({
    subject: "CN=intermediate",
    issuer: rootCert.subject,
    notBefore: new Date(START - HOUR),
    notAfter: new Date(START + 365 * 24 * HOUR),
    publicKey: keys.publicKey,
    signingKey: await importPrivateKey(root.privateKeyPem, "root"),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const bundle = `${intermediate.toString("pem")}\n${root.certificatePem}`;
  const ca = await loadCertificateAuthority({ certificatePem: bundle, privateKeyPem: await privateKeyPem(keys.privateKey) }, { trustDomain: "example.org", certTtlMs: HOUR, clock });
  const issued = await ca.signWorkload("checkout", await createCsr("checkout", await generateKeyPair()));
  const chain = issued.certificateChain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
  assert.equal(chain.length, 2);
  const [leaf, middle] = chain.map((pem) => new X509Certificate(pem));
  assert.ok(leaf!.verify(middle!.publicKey));
  assert.ok(middle!.verify(new X509Certificate(root.certificatePem).publicKey));
  assert.equal(issued.caCertificate, bundle);
});
