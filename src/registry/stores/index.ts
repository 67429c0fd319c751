import { ValidationError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { Backend } from "../store.js";
import { openEtcdStore, parseEtcdSpec } from "./etcd.js";
import { createMemoryStore } from "./memory.js";
import { openSqliteStore } from "./sqlite.js";

export { createMemoryStore } from "./memory.js";
export { openSqliteStore, type SqliteStoreOptions } from "./sqlite.js";
export { openEtcdStore, parseEtcdSpec, DEFAULT_ETCD_PREFIX, type EtcdStoreOptions } from "./etcd.js";

export interface OpenStoreOptions {
  /** Where persistent backends keep their files; ignored by `memory` and `etcd`. */
  readonly dataDir: string;
  readonly logger?: Logger;
  /** etcd only: this replica's id (its own push-guard generation log; see EtcdStoreOptions.replica). */
  readonly replica?: string;
}

const ALLOWED = "memory, sqlite or etcd://host:port[,host:port…]";

/**
 * Opens the Store named by `spec`, the value of `serve --store`: `memory`,
 * `sqlite`, or `etcd://host:port[,host:port…]` (keys under the default
 * prefix `/steadymesh/`). Anything else, or an etcd spec without valid
 * host:port pairs, is refused with a one-line ValidationError on path
 * `store` naming the allowed form; an etcd that does not answer gives
 * UnavailableError.
 */
export async function openStore(spec: string, options: OpenStoreOptions): Promise<Backend> {
  if (spec === "memory") return createMemoryStore({ logger: options.logger });
  if (spec === "sqlite") return openSqliteStore(options);
  if (spec.startsWith("etcd://")) return openEtcdStore({ endpoints: parseEtcdSpec(spec), logger: options.logger, ...(options.replica !== undefined && { replica: options.replica }) });
  const shown = JSON.stringify(spec.length > 40 ? `${spec.slice(0, 39)}…` : spec);
  throw new ValidationError([{ path: "store", message: `must be one of ${ALLOWED}, got ${shown}` }]);
}
