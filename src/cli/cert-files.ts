import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The files gRPC's `file_watcher` certificate provider reads (certificate_file, private_key_file, ca_certificate_file). */
export const CERT_FILES = { certificate: "certificate.pem", privateKey: "private_key.pem", ca: "ca.pem" } as const;

export interface CertificateFiles {
  readonly certificateChain: string;
  readonly privateKeyPem: string;
  readonly caCertificate: string;
}

/** The link every file name points through; swapping it swaps all three files at once. */
const DATA_LINK = "..data";

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return undefined;
    return await readlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Points `path` at `target` with one rename, replacing whatever was there (a file of an older layout too). */
async function swapLink(dir: string, path: string, target: string): Promise<void> {
  const temp = join(dir, `..link-${randomBytes(6).toString("hex")}`);
  await symlink(target, temp);
  await rename(temp, path);
}

/**
 * Writes the three files into `dir` so that a reader never sees a new
 * certificate with an old key: the files go into a fresh hidden directory
 * (`..<time>-<random>`, mode 0700; the key 0600), then one rename swaps the
 * `..data` link to it, and `certificate.pem`, `private_key.pem` and `ca.pem`
 * are links through `..data` (Kubernetes' atomic writer does the same).
 * Readers that follow links (gRPC's file_watcher, curl, openssl) read plain
 * PEM files. The previous hidden directory is removed afterwards.
 */
export async function writeCertificateFiles(dir: string, files: CertificateFiles, now: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const version = `..${new Date(now).toISOString().replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}`;
  const versionDir = join(dir, version);
  await mkdir(versionDir, { mode: 0o700 });
  await writeFile(join(versionDir, CERT_FILES.privateKey), files.privateKeyPem, { mode: 0o600 });
  // The mode of writeFile is masked by the umask; the key must be 0600 whatever it is.
  await chmod(join(versionDir, CERT_FILES.privateKey), 0o600);
  await writeFile(join(versionDir, CERT_FILES.certificate), files.certificateChain, { mode: 0o644 });
  await writeFile(join(versionDir, CERT_FILES.ca), files.caCertificate, { mode: 0o644 });
  const previous = await linkTarget(join(dir, DATA_LINK));
  await swapLink(dir, join(dir, DATA_LINK), version);
  for (const name of Object.values(CERT_FILES)) {
    const wanted = join(DATA_LINK, name);
    if ((await linkTarget(join(dir, name))) !== wanted) await swapLink(dir, join(dir, name), wanted);
  }
  if (previous !== undefined && previous !== version && previous.startsWith("..")) await rm(join(dir, previous), { recursive: true, force: true });
}
