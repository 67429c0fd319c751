import { createHash } from "node:crypto";
import type { Snapshot, Resource } from "../snapshot/index.js";
import type { NodeInfo, ResourceWatcher, WatchRequest, WatchResponse } from "./watcher.js";

/** The group every node is in unless `groupOf` says otherwise, and the one a group without a snapshot falls back to. */
export const DEFAULT_GROUP = "default";

export interface SnapshotCacheOptions {
  /**
   * The group of a client, from the node of its stream (asked once per
   * watch; a node's group does not change while it is connected). Default:
   * every node in DEFAULT_GROUP.
   */
  readonly groupOf?: (node: NodeInfo) => string;
}

/**
 * Node group → snapshot, as go-control-plane's cache is: each watch is
 * answered from its node's group's snapshot, or from DEFAULT_GROUP's while
 * its group has none. The cache knows groups, snapshots and an opaque `tag`
 * per snapshot that it copies into the responses (the push guard tags each
 * snapshot with its generation, to match ACKs and NACKs to it); who is in
 * which group, and what a tag means, belong to whoever fills it.
 */
export interface SnapshotCache extends ResourceWatcher {
  /** Replaces the group's snapshot (and tag) and notifies every watch whose answer changed. */
  setSnapshot(group: string, snapshot: Snapshot, tag?: number): void;
  /** Drops the group's snapshot: its clients go back to DEFAULT_GROUP's. Does nothing for a group without one. */
  clearSnapshot(group: string): void;
  /** The group's own snapshot (DEFAULT_GROUP's when no group is named); undefined when it has none. */
  current(group?: string): Snapshot | undefined;
}

interface Tagged {
  readonly snapshot: Snapshot;
  readonly tag: number | undefined;
}

interface ActiveWatch {
  readonly request: WatchRequest;
  readonly group: string;
  /** Type and subscription as one string: watches with equal keys get the same answer object. */
  readonly key: string;
  readonly onResponse: (response: WatchResponse) => void;
  lastVersion?: string;
}

export function createSnapshotCache(options: SnapshotCacheOptions = {}): SnapshotCache {
  const groupOf = options.groupOf ?? (() => DEFAULT_GROUP);
  const groups = new Map<string, Tagged>();
  const watches = new Set<ActiveWatch>();
  // One answer per (snapshot, type, subscription), shared by every watch asking
  // it, so its resource list is encoded once for all of them (see wire.ts).
  const answers = new WeakMap<Snapshot, Map<string, WatchResponse>>();

  function answer(source: Snapshot, watch: ActiveWatch): WatchResponse {
    let bySubscription = answers.get(source);
    if (!bySubscription) answers.set(source, (bySubscription = new Map()));
    let response = bySubscription.get(watch.key);
    if (!response) bySubscription.set(watch.key, (response = respond(source, watch.request)));
    return response;
  }

  function deliver(watch: ActiveWatch): void {
    const source = groups.get(watch.group) ?? groups.get(DEFAULT_GROUP);
    if (!source) return;
    const response = answer(source.snapshot, watch);
    if (response.version === watch.lastVersion) return;
    watch.lastVersion = response.version;
    watch.onResponse(source.tag === undefined ? response : { ...response, tag: source.tag });
  }

  /** Delivers to every watch the change of `group` may reach: its own, or all when the default group changed. */
  function deliverTo(group: string): void {
    // Copy: a callback may cancel or add watches while we iterate.
    for (const watch of [...watches]) {
      if (!watches.has(watch)) continue;
      if (group === DEFAULT_GROUP || watch.group === group) deliver(watch);
    }
  }

  return {
    watch(request, onResponse) {
      const watch: ActiveWatch = { request, onResponse, group: groupOf(request.node), key: watchKey(request) };
      watches.add(watch);
      deliver(watch);
      return () => watches.delete(watch);
    },
    setSnapshot(group, snapshot, tag) {
      groups.set(group, { snapshot, tag });
      deliverTo(group);
    },
    clearSnapshot(group) {
      if (!groups.delete(group)) return;
      deliverTo(group);
    },
    current: (group = DEFAULT_GROUP) => groups.get(group)?.snapshot,
  };
}

function watchKey({ typeUrl, subscription }: WatchRequest): string {
  // JSON, not a separator: client-chosen names may hold any character.
  return JSON.stringify(subscription.wildcard ? [typeUrl, true] : [typeUrl, false, ...[...subscription.names].sort()]);
}

/** The answer to `request` from `snapshot`: all resources for a wildcard, else the named ones that exist. */
export function respond(snapshot: Snapshot, request: WatchRequest): WatchResponse {
  const all = snapshot.resources[request.typeUrl];
  const { subscription } = request;
  if (subscription.wildcard) {
    return { typeUrl: request.typeUrl, version: snapshot.typeVersions[request.typeUrl], resources: [...all.values()] };
  }
  const resources: Resource[] = [];
  for (const name of [...subscription.names].sort()) {
    const resource = all.get(name);
    if (resource) resources.push(resource);
  }
  return { typeUrl: request.typeUrl, version: responseVersion(resources), resources };
}

/** The version of a response holding exactly `resources`: equal content ⇔ equal version. */
export function responseVersion(resources: readonly Resource[]): string {
  const hash = createHash("sha256");
  for (const r of resources) hash.update(`${r.name}\u0000${r.version}\u0000`);
  return hash.digest("hex").slice(0, 16);
}
