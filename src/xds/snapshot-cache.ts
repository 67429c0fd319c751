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
  // Who to tell when a resource changes: per type, the wildcard watches, and the named watches by name.
  const wildcard = new Map<string, Set<ActiveWatch>>();
  const byName = new Map<string, Map<string, Set<ActiveWatch>>>();
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

  function sourceOf(group: string): Tagged | undefined {
    return groups.get(group) ?? groups.get(DEFAULT_GROUP);
  }

  function deliver(watch: ActiveWatch): void {
    const source = sourceOf(watch.group);
    if (!source) return;
    const response = answer(source.snapshot, watch);
    if (response.version === watch.lastVersion) return;
    watch.lastVersion = response.version;
    watch.onResponse(source.tag === undefined ? response : withTag(response, source.tag));
  }

  /** Adds the watch to the index, or removes it (and the sets it leaves empty). */
  function index(watch: ActiveWatch, add: boolean): void {
    const { typeUrl, subscription } = watch.request;
    if (subscription.wildcard) {
      update(wildcard, typeUrl, watch, add);
      return;
    }
    let names = byName.get(typeUrl);
    if (!names) byName.set(typeUrl, (names = new Map()));
    for (const name of subscription.names) update(names, name, watch, add);
  }

  /**
   * The watches whose answer may differ between `before` and `after`: the
   * wildcard watches of each type that changed, and the watches naming a
   * resource that came, went or changed. The two snapshots' maps share all
   * but what changed, so this costs what changed, not the number of watches.
   */
  function touchedBy(before: Snapshot, after: Snapshot): Set<ActiveWatch> {
    const touched = new Set<ActiveWatch>();
    for (const typeUrl of Object.keys(after.resources) as (keyof Snapshot["resources"])[]) {
      if (before.typeVersions[typeUrl] === after.typeVersions[typeUrl]) continue;
      for (const watch of wildcard.get(typeUrl) ?? []) touched.add(watch);
      const named = byName.get(typeUrl);
      if (!named || named.size === 0) continue;
      const touch = (name: string): void => {
        for (const watch of named.get(name) ?? []) touched.add(watch);
      };
      after.resources[typeUrl].diffFrom(before.resources[typeUrl], { added: touch, removed: touch, changed: touch });
    }
    return touched;
  }

  /** Delivers to the watches of `groups` whose answer the change from `before` (undefined: nothing served yet) may change. */
  function deliverTo(inGroup: (group: string) => boolean, before: Snapshot | undefined, after: Snapshot | undefined): void {
    // Copy: a callback may cancel or add watches while we iterate.
    const candidates = before && after ? [...touchedBy(before, after)] : [...watches];
    for (const watch of candidates) {
      if (watches.has(watch) && inGroup(watch.group)) deliver(watch);
    }
  }

  /** The groups whose clients read `group`'s snapshot: itself, and for the default group every group without one. */
  function readersOf(group: string): (watchGroup: string) => boolean {
    return group === DEFAULT_GROUP ? (watchGroup) => watchGroup === DEFAULT_GROUP || !groups.has(watchGroup) : (watchGroup) => watchGroup === group;
  }

  return {
    watch(request, onResponse) {
      const watch: ActiveWatch = { request, onResponse, group: groupOf(request.node), key: watchKey(request) };
      watches.add(watch);
      index(watch, true);
      deliver(watch);
      return () => {
        if (watches.delete(watch)) index(watch, false);
      };
    },
    setSnapshot(group, snapshot, tag) {
      // Its readers (for the default group, also the clients of groups without a snapshot) move from `before` to `snapshot`.
      const before = sourceOf(group)?.snapshot;
      groups.set(group, { snapshot, tag });
      deliverTo(readersOf(group), before, snapshot);
    },
    clearSnapshot(group) {
      const before = groups.get(group)?.snapshot;
      if (!groups.delete(group)) return;
      deliverTo(readersOf(group), before, groups.get(DEFAULT_GROUP)?.snapshot);
    },
    current: (group = DEFAULT_GROUP) => groups.get(group)?.snapshot,
  };
}

function update<K, T>(map: Map<K, Set<T>>, key: K, item: T, add: boolean): void {
  const set = map.get(key);
  if (add) {
    if (set) set.add(item);
    else map.set(key, new Set([item]));
  } else if (set?.delete(item) && set.size === 0) {
    map.delete(key);
  }
}

/** `response` with `tag`, keeping its resource list lazy (a spread would make it). */
function withTag(response: WatchResponse, tag: number): WatchResponse {
  return {
    typeUrl: response.typeUrl,
    version: response.version,
    get resources() {
      return response.resources;
    },
    ...(response.all && { all: response.all }),
    tag,
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
    // The list is made on first use: a Delta stream holding the last map diffs the maps instead.
    let list: readonly Resource[] | undefined;
    return {
      typeUrl: request.typeUrl,
      version: snapshot.typeVersions[request.typeUrl],
      get resources() {
        return (list ??= [...all.values()]);
      },
      all,
    };
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
