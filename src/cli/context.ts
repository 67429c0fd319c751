import type { Command } from "commander";
import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { RunningServer, ServeOptions } from "../server/index.js";
import { createAdminClient, type AdminClient } from "./admin-client.js";
import { resolveToken, tokenHint, TOKEN_ENV, type TokenFlags } from "./admin-token.js";
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

/** Adds `--admin URL`, `--token T` and `--token-file F` to a command that talks to a running server. */
export function withAdminOption(command: Command): Command {
  return command
    .option("--admin <url>", "admin API of the running server", adminUrl, DEFAULT_ADMIN_URL)
    .option("--token <token>", `admin API token (default: $${TOKEN_ENV}, else ./.steadymesh/admin-token)`)
    .option("--token-file <file>", "file holding the admin API token");
}

/** A client for `--admin`, sending the token of `--token`, `--token-file`, STEADYMESH_TOKEN or ./.steadymesh/admin-token. */
export function adminClient(options: { admin: string } & TokenFlags): AdminClient {
  const resolved = resolveToken(options);
  return createAdminClient(options.admin, fetch, { ...resolved, hint: tokenHint(resolved.source) });
}
