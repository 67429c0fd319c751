/** The xDS server: ADS State-of-the-World and Delta over gRPC, fed by a ResourceWatcher. */
export { boundedClientStatus, STATUS_METADATA_KEYS, STATUS_NACK_CHARS, STATUS_NAMES_SHOWN, STATUS_TEXT_CHARS, type ClientStatus, type TypeStatus, type NackStatus } from "./client-status.js";
export { XDS_LIMITS, type XdsLimits } from "./limits.js";
export type { ResourceWatcher, WatchRequest, WatchResponse, Subscription, NodeInfo } from "./watcher.js";
export type { StreamTransport } from "./transport.js";
export { createSnapshotCache, responseVersion, DEFAULT_GROUP, type SnapshotCache, type SnapshotCacheOptions } from "./snapshot-cache.js";
export { createXdsServer, type XdsServer, type XdsServerDeps, type StreamGate, type GatedStream } from "./server.js";
export type { ClientReply } from "./sotw-stream.js";
export { buildBootstrap, type Bootstrap, type BootstrapOptions } from "./bootstrap.js";
