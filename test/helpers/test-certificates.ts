/**
 * A throwaway CA and SPIFFE workload certificates for tests, made with
 * @peculiar/x509 (no hand-written ASN.1), written in the layout gRPC's
 * file_watcher certificate provider reads.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CERTIFICATE_FILES, spiffeIdOf } from "../../src/resources/index.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const HOUR_MS = 3_600_000;

export interface TestCa {
  readonly trustDomain: string;
  readonly certificatePem: string;
  /**
   * Writes `certificate.pem` (the workload certificate, URI SAN
   * spiffe://<trust domain>/service/<service>), `private_key.pem` (PKCS#8)
   * and `ca.pem` into `dir`, and returns `dir`.
   */
  issue(service: string, dir: string): Promise<string>;
}

function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

/** A self-signed ECDSA P-256 root valid for an hour either side of now. */
export async function createTestCa(trustDomain: string): Promise<TestCa> {
  const keys = await newKeys();
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=steadymesh test CA ${trustDomain}`,
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + HOUR_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certificatePem = root.toString("pem");
  let serial = 1;
  return {
    trustDomain,
    certificatePem,
    async issue(service, dir) {
      const leafKeys = await newKeys();
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: (++serial).toString(16).padStart(2, "0"),
        subject: `CN=${service}`,
        issuer: root.subject,
        notBefore: new Date(now - HOUR_MS),
        notAfter: new Date(now + HOUR_MS),
        signingAlgorithm: ALGORITHM,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeIdOf(trustDomain, service) }]),
          await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, CERTIFICATE_FILES.certificate), leaf.toString("pem"));
      await writeFile(join(dir, CERTIFICATE_FILES.privateKey), x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), { mode: 0o600 });
      await writeFile(join(dir, CERTIFICATE_FILES.ca), certificatePem);
      return dir;
    },
  };
}
