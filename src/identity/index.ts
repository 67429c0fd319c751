/**
 * The built-in CA (README, "Security"): a root stored with the registry,
 * workload certificates with SPIFFE IDs signed from CSRs, serving
 * certificates for the TLS listeners, and the key and CSR a workload makes.
 */
export {
  createRootCa,
  loadCertificateAuthority,
  type CaMaterial,
  type CertificateAuthority,
  type IssuedCertificate,
  type ServingCertificate,
} from "./certificate-authority.js";
export { obtainCertificateAuthority, caSecretName, type ObtainCaOptions } from "./obtain-ca.js";
export { createCsr } from "./csr.js";
export { generateKeyPair, privateKeyPem } from "./keys.js";
export { spiffeId } from "./spiffe.js";
