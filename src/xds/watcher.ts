import type { ResourceTypeUrl } from "../proto/index.js";
import type { Resource } from "../snapshot/index.js";

/** Which resources of one type a stream wants. */
export type Subscription = { readonly wildcard: true } | { readonly wildcard: false; readonly names: ReadonlySet<string> };

export interface WatchRequest {
  readonly typeUrl: ResourceTypeUrl;
  readonly subscription: Subscription;
  /** The requesting node's id, for node-group decisions (canary rollouts). */
  readonly nodeId: string;
}

/** The resources a watch currently resolves to. */
export interface WatchResponse {
  readonly typeUrl: ResourceTypeUrl;
  /** Derived from the resources it holds: equal content ⇔ equal version. */
  readonly version: string;
  readonly resources: readonly Resource[];
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
