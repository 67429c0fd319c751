import type { SortedMap } from "../collections/index.js";
import type { ResourceTypeUrl } from "../proto/index.js";
import type { Resource } from "../snapshot/index.js";

/** Which resources of one type a stream wants. */
export type Subscription = { readonly wildcard: true } | { readonly wildcard: false; readonly names: ReadonlySet<string> };

/** Who a stream's client is, from the `node` of its first request. */
export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  /** The node's metadata Struct as plain JSON; {} when absent. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface WatchRequest {
  readonly typeUrl: ResourceTypeUrl;
  readonly subscription: Subscription;
  /** The requesting node's id, for node-group decisions. */
  readonly nodeId: string;
  /** The whole node, for groups chosen by metadata. */
  readonly node: NodeInfo;
}

/** The resources a watch currently resolves to. */
export interface WatchResponse {
  readonly typeUrl: ResourceTypeUrl;
  /** Derived from the resources it holds: equal content ⇔ equal version. */
  readonly version: string;
  readonly resources: readonly Resource[];
  /**
   * For a wildcard answer, the type's whole map in the snapshot: a stream that
   * kept the map of its last answer can diff the two (SortedMap.diffFrom) at
   * the cost of what changed, instead of comparing every resource.
   */
  readonly all?: SortedMap<Resource>;
  /**
   * The tag of the snapshot the answer came from, when it has one (the push
   * guard's generation); the server reports it per client and in ACK/NACK
   * events.
   */
  readonly tag?: number;
}

/**
 * The only thing the xDS server knows of where configuration comes from.
 * `watch` calls `onResponse` once at once when there is a snapshot (or as soon
 * as there is one), then again each time the answer to `request` changes
 * version; never twice in a row with the same version. The returned function
 * cancels the watch.
 */
export interface ResourceWatcher {
  watch(request: WatchRequest, onResponse: (response: WatchResponse) => void): () => void;
}
