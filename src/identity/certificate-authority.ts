import { isIP } from "node:net";
import { createPublicKey, randomBytes, verify as verifySignature, webcrypto } from "node:crypto";
import type { Clock } from "../clock/index.js";
import { ValidationError } from "../errors/index.js";
import { checkCsr } from "./csr.js";
import { generateKeyPair, importPrivateKey, privateKeyPem } from "./keys.js";
import { spiffeId } from "./spiffe.js";
import { EC_SIGNING, x509 } from "./x509.js";

/** A CA certificate and its private key, both PEM: what is stored with the registry or given by `--ca-cert/--ca-key`. */
export interface CaMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** A signed workload certificate, as `POST /v1/certificates` answers. */
export interface IssuedCertificate {
  /** PEM: the workload certificate, then the signing CA's certificate when that is an intermediate (not self-signed). */
  readonly certificateChain: string;
  /** PEM: the CA certificate(s) peers verify the chain with (`ca.pem`): the root, or an intermediate with the certificates above it. */
  readonly caCertificate: string;
  /** When the certificate expires, ISO 8601. */
  readonly expiresAt: string;
}

/** A serving certificate with its key, for the TLS listeners. */
export interface ServingCertificate {
  readonly certificateChain: string;
  readonly privateKeyPem: string;
  readonly expiresAt: string;
}

export interface CertificateAuthority {
  readonly trustDomain: string;
  /** PEM of the CA certificate, followed, for an intermediate CA, by the certificates above it as given: what peers trust (`ca.pem`). */
  readonly certificatePem: string;
  /**
   * Signs a workload certificate for `service` from a PEM CSR (checkCsr):
   * URI SAN `spiffe://<trust-domain>/service/<service>`, the CA's lifetime
   * for workloads, key usage digitalSignature, EKU serverAuth and clientAuth.
   * ValidationError on path `csr` for a CSR it refuses.
   */
  signWorkload(service: string, csrPem: string): Promise<IssuedCertificate>;
  /** A new key and a serving certificate for `names` (DNS names and IP addresses), EKU serverAuth, for SERVING_TTL_MS. */
  issueServing(names: readonly string[]): Promise<ServingCertificate>;
}

export interface CaOptions {
  readonly trustDomain: string;
  /** Lifetime of workload certificates (`--cert-ttl`). */
  readonly certTtlMs: number;
  readonly clock: Clock;
}

/** A new root lives ten years: replacing a root means re-issuing every certificate. */
export const ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
/** Serving certificates are made at every start of serve; a year keeps a long-running server valid. */
export const SERVING_TTL_MS = 365 * 24 * 3600 * 1000;
/** notBefore lies this far in the past (at most the lifetime), so a peer whose clock is a little behind accepts a new certificate. */
const BACKDATE_MS = 60_000;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** A positive random 128-bit serial number, hexadecimal (RFC 5280: at most 20 octets, positive). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

function validity(now: number, ttlMs: number): { notBefore: Date; notAfter: Date } {
  // Whole seconds: X.509 times have no fractions, and expiresAt must match the certificate exactly.
  const start = Math.floor((now - Math.min(BACKDATE_MS, ttlMs)) / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(Math.floor((now + ttlMs) / 1000) * 1000) };
}

/** A new self-signed root CA for `trustDomain`: ECDSA P-256, CA:true with path length 0, keyCertSign and cRLSign. */
export async function createRootCa(trustDomain: string, clock: Clock): Promise<CaMaterial> {
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ O: ["steadymesh"] }, { CN: [`steadymesh root CA for ${trustDomain}`] }],
    ...validity(clock.now(), ROOT_TTL_MS),
    keys,
    signingAlgorithm: EC_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: `${certificate.toString("pem")}\n`, privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * The CA of `material`, checked: the certificate parses, is a CA
 * (basicConstraints CA:true), and the key is its own (a test signature
 * verifies with the certificate's key). ValidationError on path `ca-cert` or
 * `ca-key` otherwise; no message quotes the key.
 */
export async function loadCertificateAuthority(material: CaMaterial, options: CaOptions): Promise<CertificateAuthority> {
  // An intermediate CA comes with the certificates above it, up to its root, after it in the same file.
  const blocks = material.certificatePem.match(PEM_CERTIFICATE) ?? [];
  const caCert = parseCaCertificate(blocks[0] ?? material.certificatePem);
  const signingKey = await importPrivateKey(material.privateKeyPem, "ca-key");
  await checkKeyMatches(caCert, signingKey);
  const signerPem = `${caCert.toString("pem")}\n`;
  const selfSigned = caCert.subject === caCert.issuer;
  // What peers trust: the whole given bundle, so that an intermediate's root is in ca.pem too.
  const caPem = blocks.map((block) => `${block}\n`).join("");
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
  const issue = async (params: { subject: string; publicKey: x509.PublicKey; ttlMs: number; extensions: x509.Extension[] }): Promise<{ pem: string; expiresAt: string }> => {
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: params.subject,
      issuer: caCert.subjectName,
      ...validity(options.clock.now(), params.ttlMs),
      publicKey: params.publicKey,
      signingKey,
      signingAlgorithm: EC_SIGNING,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), authorityKeyId, await x509.SubjectKeyIdentifierExtension.create(params.publicKey), ...params.extensions],
    });
    const chain = selfSigned ? `${certificate.toString("pem")}\n` : `${certificate.toString("pem")}\n${signerPem}`;
    return { pem: chain, expiresAt: certificate.notAfter.toISOString() };
  };
  return {
    trustDomain: options.trustDomain,
    certificatePem: caPem,
    async signWorkload(service, csrPem) {
      const publicKey = await checkCsr(csrPem, service, options.trustDomain);
      const issued = await issue({
        subject: `CN=${service}`,
        publicKey,
        ttlMs: options.certTtlMs,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId(options.trustDomain, service) }]),
        ],
      });
      return { certificateChain: issued.pem, caCertificate: caPem, expiresAt: issued.expiresAt };
    },
    async issueServing(names) {
      const keys = await generateKeyPair();
      const issued = await issue({
        subject: `CN=${names[0] ?? "steadymesh"}`,
        publicKey: await x509.PublicKey.create(keys.publicKey),
        ttlMs: SERVING_TTL_MS,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(names.map((name) => ({ type: isIP(name) === 0 ? ("dns" as const) : ("ip" as const), value: name }))),
        ],
      });
      return { certificateChain: issued.pem, privateKeyPem: await privateKeyPem(keys.privateKey), expiresAt: issued.expiresAt };
    },
  };
}

function parseCaCertificate(pem: string): x509.X509Certificate {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(pem);
  } catch (err) {
    throw new ValidationError([{ path: "ca-cert", message: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)" }], { cause: err });
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new ValidationError([{ path: "ca-cert", message: `must be a CA certificate (basicConstraints CA:true); ${certificate.subject} is not` }]);
  return certificate;
}

async function checkKeyMatches(certificate: x509.X509Certificate, key: CryptoKey): Promise<void> {
  const probe = randomBytes(32);
  const signature = Buffer.from(await webcrypto.subtle.sign(EC_SIGNING, key as unknown as webcrypto.CryptoKey, probe));
  const publicKey = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: "der", type: "spki" });
  if (!verifySignature("sha256", probe, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
    throw new ValidationError([{ path: "ca-key", message: `must be the private key of the CA certificate (${certificate.subject}); it is another key` }]);
  }
}
