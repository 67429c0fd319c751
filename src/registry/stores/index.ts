import { ValidationError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { Store } from "../store.js";
import { createMemoryStore } from "./memory.js";
import { openSqliteStore } from "./sqlite.js";

export { createMemoryStore } from "./memory.js";
export { openSqliteStore, type SqliteStoreOptions } from "./sqlite.js";

export interface OpenStoreOptions {
  /** Where persistent backends keep their files; ignored by `memory`. */
  readonly dataDir: string;
  readonly logger?: Logger;
}

const ALLOWED_NOW = "memory, sqlite";

/**
 * Opens the Store named by `spec`, the value of `serve --store`: `memory`,
 * `sqlite`, or `etcd://host:port[,host:port…]`. etcd is not built yet, so it
 * is refused like any other unknown value: with a ValidationError on path
 * `store` that lists the values allowed now.
 */
export async function openStore(spec: string, options: OpenStoreOptions): Promise<Store> {
  if (spec === "memory") return createMemoryStore({ logger: options.logger });
  if (spec === "sqlite") return openSqliteStore(options);
  const shown = JSON.stringify(spec.length > 40 ? `${spec.slice(0, 39)}…` : spec);
  if (spec.startsWith("etcd://")) {
    throw new ValidationError([{ path: "store", message: `etcd is not supported yet, got ${shown}; use one of ${ALLOWED_NOW}` }]);
  }
  throw new ValidationError([{ path: "store", message: `must be one of ${ALLOWED_NOW} (or etcd://host:port[,host:port…] once etcd is supported), got ${shown}` }]);
}
