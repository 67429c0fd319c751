import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Secrets } from "../registry/index.js";
import { createRootCa, loadCertificateAuthority, type CaMaterial, type CaOptions, type CertificateAuthority } from "./certificate-authority.js";

/** The name under which the built-in CA of a trust domain is stored with the registry (Secrets): certificate and key in one JSON value. */
export function caSecretName(trustDomain: string): string {
  return `ca/${trustDomain}`;
}

export interface ObtainCaOptions extends CaOptions {
  readonly secrets: Secrets;
  readonly logger: Logger;
  /** `--ca-cert/--ca-key`: use this CA, and store nothing. */
  readonly given?: CaMaterial;
}

/**
 * The CA serve signs with: the given one, else the one stored with the
 * registry for this trust domain, else a new root stored there first. The
 * certificate and key are stored as one JSON value under one name, so two
 * replicas starting together on one store agree on one CA: each makes a
 * root, the first write wins, and both use what was stored.
 */
export async function obtainCertificateAuthority(options: ObtainCaOptions): Promise<CertificateAuthority> {
  const { secrets, trustDomain, logger } = options;
  if (options.given) {
    const ca = await loadCertificateAuthority(options.given, options);
    logger.info({ trustDomain }, "using the CA given by --ca-cert/--ca-key");
    return ca;
  }
  const name = caSecretName(trustDomain);
  const stored = await secrets.get(name);
  if (stored !== undefined) {
    logger.info({ trustDomain }, "using the built-in CA stored with the registry");
    return loadCertificateAuthority(parseStored(stored, name), options);
  }
  const created = await createRootCa(trustDomain, options.clock);
  const winner = await secrets.putIfAbsent(name, JSON.stringify(created));
  const material = parseStored(winner, name);
  const ours = material.certificatePem === created.certificatePem;
  logger.info({ trustDomain }, ours ? "created the built-in root CA and stored it with the registry" : "another replica created the built-in CA first; using it");
  return loadCertificateAuthority(material, options);
}

function parseStored(value: string, name: string): CaMaterial {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new SteadyError("internal", `the CA stored under ${name} is not JSON; the store is damaged`, { cause: err });
  }
  const { certificatePem, privateKeyPem } = (parsed ?? {}) as Partial<CaMaterial>;
  if (typeof certificatePem !== "string" || typeof privateKeyPem !== "string") {
    throw new SteadyError("internal", `the CA stored under ${name} lacks certificatePem or privateKeyPem; the store is damaged`);
  }
  return { certificatePem, privateKeyPem };
}
