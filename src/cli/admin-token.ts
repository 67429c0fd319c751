import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SteadyError } from "../errors/index.js";

/** Where `serve` writes the first operator token when run from the same directory with the default --data-dir. */
export const DEFAULT_TOKEN_FILE = join(".steadymesh", "admin-token");

/** The environment variable a token may come from. */
export const TOKEN_ENV = "STEADYMESH_TOKEN";

/** The token flags of every command that talks to the admin API. */
export interface TokenFlags {
  readonly token?: string;
  readonly tokenFile?: string;
}

/** A token and where it came from (for messages; never the token itself). */
export interface ResolvedToken {
  readonly token?: string;
  readonly source: string;
}

/**
 * The admin API token, in this order: `--token`, `--token-file`,
 * STEADYMESH_TOKEN, then ./.steadymesh/admin-token when it exists (so the
 * quickstart works after `serve` in the same directory). None of them: no
 * token, and the server's 401 says what is missing. A `--token-file` that
 * cannot be read is an error; so are both flags at once.
 */
export function resolveToken(flags: TokenFlags, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ResolvedToken {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new SteadyError("invalid-argument", "give --token or --token-file, not both");
  if (flags.token !== undefined) return { token: flags.token.trim(), source: "--token" };
  if (flags.tokenFile !== undefined) return { token: readToken(flags.tokenFile, "--token-file"), source: `--token-file ${flags.tokenFile}` };
  const fromEnv = env[TOKEN_ENV]?.trim();
  if (fromEnv) return { token: fromEnv, source: TOKEN_ENV };
  const file = join(cwd, DEFAULT_TOKEN_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return { source: "none" };
    throw new SteadyError("invalid-argument", `cannot read the admin token in ./${DEFAULT_TOKEN_FILE}: ${(err as Error).message}; pass --token or --token-file`);
  }
  return { token: text.trim(), source: `./${DEFAULT_TOKEN_FILE}` };
}

function readToken(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SteadyError("invalid-argument", `${flag} ${file}: cannot read it (${(err as { code?: string }).code ?? (err as Error).message}); it must name a file holding an admin API token`);
  }
  const token = text.trim();
  if (token === "") throw new SteadyError("invalid-argument", `${flag} ${file}: the file is empty; it must hold an admin API token`);
  return token;
}

/** What a 401 or 403 adds to the server's message: where the token came from, and how to pass another. */
export function tokenHint(source: string): string {
  if (source === "none") {
    return `no token was sent: pass --token or --token-file, set ${TOKEN_ENV}, or run from the directory whose ./${DEFAULT_TOKEN_FILE} serve wrote`;
  }
  return `the token came from ${source}`;
}
