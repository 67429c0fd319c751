import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { SteadyError } from "../errors/index.js";
import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { RunningServer, ServeOptions } from "../server/index.js";
import { SERVE_DEFAULTS } from "../server/options.js";
import { createAdminClient, type AdminClient } from "./admin-client.js";
import { resolveToken, tokenHint, TOKEN_ENV, type TokenFlags } from "./admin-token.js";
import { fetchWithCa } from "./https-fetch.js";
import { adminUrl, DEFAULT_ADMIN_URL } from "./parse.js";

/** The signals `serve` stops on; a second one during shutdown forces the exit. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Where `serve` learns about signals and how it forces an exit; `process` by default. */
export interface SignalSource {
  once(signal: StopSignal, listener: () => void): void;
  off(signal: StopSignal, listener: () => void): void;
  /** Ends the process at once; only called when a second signal arrives while closing. */
  exit(code: number): void;
}

/**
 * What `main` writes to and, for tests, what `serve` runs. Results go to
 * stdout; errors (one line) and logs go to stderr.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** What `policy apply|diff -f -` reads; this process's standard input by default. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Defaults to `startServer` from src/server. */
  readonly startServer?: (options: ServeOptions) => Promise<RunningServer>;
  /** Where `serve` and `heartbeat --every` learn about Ctrl-C; this process by default. */
  readonly signals?: SignalSource;
  /** Times `heartbeat --every`; the system clock by default. */
  readonly clock?: Clock;
  /** Defaults to JSON logs on `stderr`. */
  readonly logger?: Logger;
}

/** Everything a command needs; built once per `main` call. */
export interface CliContext {
  readonly io: CliIo;
  /** Writes one line to stdout. */
  print(line: string): void;
}

export function createContext(io: CliIo): CliContext {
  return { io, print: (line) => void io.stdout.write(`${line}\n`) };
}

/** Adds `--admin URL`, `--token T`, `--token-file F` and `--ca FILE` to a command that talks to a running server. */
export function withAdminOption(command: Command): Command {
  return command
    .option("--admin <url>", "admin API of the running server", adminUrl, DEFAULT_ADMIN_URL)
    .option("--token <token>", `admin API token (default: $${TOKEN_ENV}, else ./.steadymesh/admin-token)`)
    .option("--token-file <file>", "file holding the admin API token")
    .option("--ca <file>", `PEM CA certificate to verify an https:// admin API with (default: ${DEFAULT_CA_FILE} when it exists)`);
}

/** Where `serve --tls` with the default data dir writes its CA certificate. */
export const DEFAULT_CA_FILE = join(SERVE_DEFAULTS.dataDir, "ca.pem");

/**
 * The CA an https:// admin URL is verified with: `--ca`, else
 * DEFAULT_CA_FILE when it exists, else none (the system's CAs). Plain
 * http:// needs none. Throws a one-line error when `--ca` cannot be read.
 */
export function adminCa(options: { admin: string; ca?: string }): string | undefined {
  if (!options.admin.startsWith("https:")) return undefined;
  const file = options.ca ?? (existsSync(DEFAULT_CA_FILE) ? DEFAULT_CA_FILE : undefined);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new SteadyError("invalid-argument", `--ca ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/**
 * A client for `--admin`, sending the token of `--token`, `--token-file`,
 * STEADYMESH_TOKEN or ./.steadymesh/admin-token, and verifying an https://
 * URL with adminCa's CA.
 */
export function adminClient(options: { admin: string; ca?: string } & TokenFlags): AdminClient {
  const resolved = resolveToken(options);
  const ca = adminCa(options);
  return createAdminClient(options.admin, ca === undefined ? fetch : fetchWithCa(ca), { ...resolved, hint: tokenHint(resolved.source) });
}
