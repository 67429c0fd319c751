import { ValidationError } from "../errors/index.js";
import { spiffeId } from "./spiffe.js";
import { EC_SIGNING, x509 } from "./x509.js";

const SUBJECT_ALT_NAME = "2.5.29.17";

/** Largest CSR accepted, in characters of PEM; a P-256 CSR is under 1 KiB. */
const MAX_CSR_CHARS = 16 * 1024;

/** What a CSR may carry: subject CN and SAN URI naming the one service, nothing else. */
function allowedNames(trustDomain: string, service: string): string {
  return `CN ${service} or ${spiffeId(trustDomain, service)}, and SAN only URI ${spiffeId(trustDomain, service)}`;
}

/**
 * Reads a PEM CSR for `service`'s workload certificate and checks it: its
 * signature verifies with its own key (proof that the caller holds the key),
 * its key is ECDSA P-256/P-384 or RSA of 2048 bits or more, and its subject
 * CN and SANs, when present, name only that service. Throws a one-line
 * ValidationError on path `csr` saying what is wrong and what is allowed.
 * Resolves with the CSR's public key, the only thing the CA takes from it.
 */
export async function checkCsr(csrPem: string, service: string, trustDomain: string): Promise<x509.PublicKey> {
  const refuse = (message: string, cause?: unknown): never => {
    throw new ValidationError([{ path: "csr", message }], cause === undefined ? undefined : { cause });
  };
  if (csrPem.length > MAX_CSR_CHARS) refuse(`must be at most ${MAX_CSR_CHARS} characters of PEM, got ${csrPem.length}`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    return refuse("must be a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)", err);
  }
  checkKey(csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number }, refuse);
  let verified: boolean;
  try {
    verified = await csr.verify();
  } catch (err) {
    return refuse("has a signature that cannot be checked; sign it with its own key (ECDSA or RSA)", err);
  }
  if (!verified) refuse("has a signature that does not verify with its own public key");
  const wanted = spiffeId(trustDomain, service);
  for (const cn of csr.subjectName.getField("CN")) {
    if (cn !== service && cn !== wanted) refuse(`asks for CN ${JSON.stringify(cn)}; allowed: ${allowedNames(trustDomain, service)}`);
  }
  // Every SAN extension, however many the CSR repeats; other requested extensions are ignored (none is copied).
  const sans = csr.extensions.filter((extension) => extension.type === SUBJECT_ALT_NAME).map((extension) => new x509.SubjectAlternativeNameExtension(extension.rawData));
  for (const name of sans.flatMap((san) => san.names.items)) {
    if (name.type !== "url" || name.value !== wanted) refuse(`asks for SAN ${name.type.toUpperCase()} ${JSON.stringify(name.value)}; allowed: ${allowedNames(trustDomain, service)}`);
  }
  return csr.publicKey;
}

function checkKey(algorithm: { name: string; namedCurve?: string; modulusLength?: number }, refuse: (message: string) => never): void {
  const ec = algorithm.name === "ECDSA" && (algorithm.namedCurve === "P-256" || algorithm.namedCurve === "P-384");
  const rsa = algorithm.name.startsWith("RSA") && (algorithm.modulusLength ?? 0) >= 2048;
  if (!ec && !rsa) {
    const got = [algorithm.name, algorithm.namedCurve ?? algorithm.modulusLength].filter((part) => part !== undefined).join(" ");
    refuse(`must carry an ECDSA P-256 or P-384 key, or RSA of at least 2048 bits, got ${got}`);
  }
}

/**
 * A CSR for `service` signed by `keys`, subject CN the service (what
 * `steadymesh cert` sends). No SAN: the client need not know the trust
 * domain; the CA puts the SPIFFE ID in the certificate.
 */
export async function createCsr(service: string, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [service] }], keys, signingAlgorithm: EC_SIGNING });
  return `${csr.toString("pem")}\n`;
}
