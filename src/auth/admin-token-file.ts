import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConflictError, SteadyError, UnavailableError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { TokenAuthority } from "./token-authority.js";

/** The file, in the data dir, that holds the first operator token. */
export const ADMIN_TOKEN_FILE = "admin-token";
/** The name of the operator token `serve` makes on first start. */
export const ADMIN_TOKEN_NAME = "admin";

/** What ensureAdminToken found or did; for tests and the caller's own log. */
export type AdminTokenOutcome = "created" | "reused" | "none";

/**
 * On every start with authentication on: makes sure an operator can reach
 * the API. When `<dataDir>/admin-token` holds a valid token, it stays (mode
 * set to 0600 again). When the token store is empty (first start of a data
 * dir or of an etcd prefix; every start of `--store memory`), it issues an
 * operator token named `admin` and writes it there, mode 0600, atomically.
 * When the store has tokens but the file holds none that is valid, nothing
 * is made: a new operator token written silently would be a back door, so
 * it logs how to make one instead. Logs one line in every case, naming the
 * file and never the token.
 */
export async function ensureAdminToken(deps: { readonly authority: TokenAuthority; readonly dataDir: string; readonly logger: Logger }): Promise<AdminTokenOutcome> {
  const { authority, dataDir, logger } = deps;
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readToken(file);
  if (existing !== undefined && (await isValid(authority, existing, logger))) {
    await chmod(file, 0o600);
    logger.info({ file }, `admin API: operator token in ${file}`);
    return "reused";
  }
  if ((await authority.list()).length === 0) {
    try {
      const issued = await authority.issue({ scope: "operator", name: ADMIN_TOKEN_NAME });
      await writePrivate(file, `${issued.token}\n`);
    } catch (err) {
      // Another replica on the same etcd prefix made its own first token in the meantime.
      if (!(err instanceof ConflictError)) throw err;
      logger.warn({ file }, `admin API: another replica created the first operator token; copy its admin-token file to ${file}, or create one with 'steadymesh token create --scope operator'`);
      return "none";
    }
    logger.info({ file }, `admin API: created operator token "${ADMIN_TOKEN_NAME}" in ${file} (mode 0600); the CLI reads it from ./.steadymesh/admin-token, --token-file or STEADYMESH_TOKEN`);
    return "created";
  }
  logger.warn(
    { file },
    `admin API: tokens exist but ${file} holds no valid one, so none was created; run 'steadymesh token create --scope operator --token <an operator token>' and write its output to ${file}, ` +
      "or, with no operator token left, restart on loopback with --auth off and create one",
  );
  return "none";
}

async function readToken(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw new UnavailableError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function isValid(authority: TokenAuthority, token: string, logger: Logger): Promise<boolean> {
  try {
    await authority.verify(token);
    return true;
  } catch (err) {
    if (err instanceof SteadyError && err.code === "unauthenticated") {
      logger.debug({ reason: err.message }, "the admin-token file holds no valid token");
      return false;
    }
    throw err;
  }
}

/** Writes `text` to a new file created with mode 0600 beside `file`, then renames it over `file`. */
async function writePrivate(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(temporary, "w", 0o600);
    try {
      // The umask cannot widen 0600, but a file left by a crash may exist with other bits: set them again.
      await handle.chmod(0o600);
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new UnavailableError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}
