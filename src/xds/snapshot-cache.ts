import { createHash } from "node:crypto";
import type { Snapshot, Resource } from "../snapshot/index.js";
import type { NodeInfo, ResourceWatcher, WatchRequest, WatchResponse } from "./watcher.js";

/** A snapshot served to one group of clients only (a canary). */
export interface GroupSnapshot {
  readonly snapshot: Snapshot;
  readonly generation: number;
  /** True for the clients in the group; called with the node of each watch. */
  selects(node: NodeInfo): boolean;
}

/**
 * Holds the snapshot clients should see and answers watches from it: the
 * snapshot for everyone, or, for the clients a canary group selects, the
 * canary's. Responses carry the generation they came from when one was given.
 */
export interface SnapshotCache extends ResourceWatcher {
  /** Replaces everyone's snapshot and notifies every watch whose answer changed. */
  setSnapshot(snapshot: Snapshot, generation?: number): void;
  /** Starts (or replaces) a canary, or ends it with undefined: its clients go back to everyone's snapshot. */
  setCanary(canary: GroupSnapshot | undefined): void;
  /** Everyone's snapshot. */
  current(): Snapshot | undefined;
}

interface ActiveWatch {
  readonly request: WatchRequest;
  /** Type and subscription as one string: watches with equal keys get the same answer object. */
  readonly key: string;
  readonly onResponse: (response: WatchResponse) => void;
  lastVersion?: string;
}

export function createSnapshotCache(): SnapshotCache {
  let snapshot: Snapshot | undefined;
  let generation: number | undefined;
  let canary: GroupSnapshot | undefined;
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
    const inCanary = canary !== undefined && canary.selects(watch.request.node);
    const source = inCanary ? canary!.snapshot : snapshot;
    if (!source) return;
    const response = answer(source, watch);
    if (response.version === watch.lastVersion) return;
    watch.lastVersion = response.version;
    const tag = inCanary ? canary!.generation : generation;
    watch.onResponse(tag === undefined ? response : { ...response, generation: tag });
  }

  function deliverAll(): void {
    // Copy: a callback may cancel or add watches while we iterate.
    for (const watch of [...watches]) if (watches.has(watch)) deliver(watch);
  }

  return {
    watch(request, onResponse) {
      const watch: ActiveWatch = { request, onResponse, key: watchKey(request) };
      watches.add(watch);
      deliver(watch);
      return () => watches.delete(watch);
    },
    setSnapshot(next, nextGeneration) {
      snapshot = next;
      generation = nextGeneration;
      deliverAll();
    },
    setCanary(next) {
      canary = next;
      deliverAll();
    },
    current: () => snapshot,
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
