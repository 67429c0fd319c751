import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Clock } from "../clock/index.js";
import { UnavailableError } from "../errors/index.js";
import { obtainCertificateAuthority, type CaMaterial, type CertificateAuthority } from "../identity/index.js";
import type { Logger } from "../log/index.js";
import type { Secrets } from "../registry/index.js";
import type { ServeOptions } from "./options.js";

/** A serving certificate chain and key (PEM) for the admin API and the xDS server. */
export interface ServingTls {
  readonly certificateChain: string;
  readonly privateKeyPem: string;
}

/** `--tls-san`'s default: loopback and this host's name. */
export function defaultTlsSans(host: string = hostname()): string[] {
  return [...new Set(["localhost", "127.0.0.1", "::1", host.toLowerCase()])];
}

async function readPem(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new UnavailableError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/** What serve's listeners and `POST /v1/certificates` use: the CA, and with `--tls` the serving certificate and where ca.pem is. */
export interface ServeIdentity {
  readonly ca: CertificateAuthority;
  readonly tls?: ServingTls;
  readonly caFile?: string;
}

/** The CA (setUpCertificateAuthority), and with `options.tls` the serving certificate and ca.pem (setUpServingTls). */
export async function setUpIdentity(options: ServeOptions, secrets: Secrets, clock: Clock): Promise<ServeIdentity> {
  const ca = await setUpCertificateAuthority(options, secrets, clock);
  if (!options.tls) return { ca };
  return { ca, ...(await setUpServingTls(options, ca, options.logger)) };
}

/** The CA serve signs with: `--ca-cert/--ca-key`, or the built-in one stored with the registry (created on the first start). */
export async function setUpCertificateAuthority(options: ServeOptions, secrets: Secrets, clock: Clock): Promise<CertificateAuthority> {
  let given: CaMaterial | undefined;
  if (options.caFiles) {
    given = { certificatePem: await readPem(options.caFiles.certificate, "--ca-cert"), privateKeyPem: await readPem(options.caFiles.key, "--ca-key") };
  }
  return obtainCertificateAuthority({ secrets, trustDomain: options.trustDomain, certTtlMs: options.certTtlMs, clock, logger: options.logger, ...(given && { given }) });
}

/**
 * With `--tls`: the serving certificate (from `--tls-cert/--tls-key`, or
 * issued by `ca` for `--tls-san`), and the CA certificate written to
 * `<dataDir>/ca.pem` (temp file and rename, mode 0644: it is public) for
 * `curl --cacert` and the CLI. Resolves with the certificate and where ca.pem is.
 */
export async function setUpServingTls(options: ServeOptions, ca: CertificateAuthority, logger: Logger): Promise<{ tls: ServingTls; caFile: string }> {
  const tls = options.tls!;
  let serving: ServingTls;
  if (tls.files) {
    serving = { certificateChain: await readPem(tls.files.certificate, "--tls-cert"), privateKeyPem: await readPem(tls.files.key, "--tls-key") };
  } else {
    const sans = tls.sans.length > 0 ? tls.sans : defaultTlsSans();
    serving = await ca.issueServing(sans);
    logger.info({ sans }, "issued the TLS serving certificate from the CA");
  }
  const caFile = join(options.dataDir, "ca.pem");
  try {
    await mkdir(options.dataDir, { recursive: true });
    const temp = `${caFile}.${process.pid}.tmp`;
    await writeFile(temp, ca.certificatePem, { mode: 0o644 });
    await chmod(temp, 0o644);
    await rename(temp, caFile);
  } catch (err) {
    throw new UnavailableError(`cannot write the CA certificate to ${caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  logger.info({ caFile }, "wrote the CA certificate; clients verify the TLS listeners with it (curl --cacert, steadymesh --ca)");
  return { tls: serving, caFile };
}
