import type { Logger } from "../log/index.js";

/** Everything `steadymesh serve` needs; the CLI parses flags into this. */
export interface ServeOptions {
  /** Where the sqlite store keeps its file (`--data-dir`, default `./.steadymesh`). */
  readonly dataDir: string;
  /** `sqlite` (default), `memory`, or `etcd://h:p[,h:p…]`. */
  readonly store: string;
  /** Address every listener binds to (`--bind`, default 127.0.0.1). */
  readonly bind: string;
  /** 0 picks a free port. */
  readonly xdsPort: number;
  readonly adminPort: number;
  /** Reserved: the DNS listener arrives with the DNS interface. */
  readonly dnsPort: number;
  readonly dnsDomain: string;
  /** How long registry changes are coalesced before a snapshot is built (default 10 ms). */
  readonly coalesceMs: number;
  /** Largest admin API request body, in bytes (default 64 KiB). */
  readonly bodyLimit: number;
  readonly logger: Logger;
}

/** A listener that is up, with the real port when 0 was asked for. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface RunningServer {
  readonly xds: ListenAddress;
  readonly admin: ListenAddress;
  /** Graceful: stops accepting, ends ADS streams, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Default values of every ServeOptions field but the logger. This file imports
 * nothing at run time, so the CLI reads these without loading the server.
 */
export const SERVE_DEFAULTS = {
  dataDir: "./.steadymesh",
  store: "sqlite",
  bind: "127.0.0.1",
  xdsPort: 18000,
  adminPort: 18080,
  dnsPort: 18053,
  dnsDomain: "mesh",
  coalesceMs: 10,
  bodyLimit: 64 * 1024,
} as const;
