import { createHash } from "node:crypto";
import type { Snapshot, Resource } from "../snapshot/index.js";
import type { ResourceWatcher, WatchRequest, WatchResponse } from "./watcher.js";

/** Holds the snapshot clients should see and answers watches from it. */
export interface SnapshotCache extends ResourceWatcher {
  /** Replaces the current snapshot and notifies every watch whose answer changed. */
  setSnapshot(snapshot: Snapshot): void;
  current(): Snapshot | undefined;
}

interface ActiveWatch {
  readonly request: WatchRequest;
  readonly onResponse: (response: WatchResponse) => void;
  lastVersion?: string;
}

export function createSnapshotCache(): SnapshotCache {
  let snapshot: Snapshot | undefined;
  const watches = new Set<ActiveWatch>();

  function deliver(watch: ActiveWatch): void {
    if (!snapshot) return;
    const response = respond(snapshot, watch.request);
    if (response.version === watch.lastVersion) return;
    watch.lastVersion = response.version;
    watch.onResponse(response);
  }

  return {
    watch(request, onResponse) {
      const watch: ActiveWatch = { request, onResponse };
      watches.add(watch);
      deliver(watch);
      return () => watches.delete(watch);
    },
    setSnapshot(next) {
      snapshot = next;
      // Copy: a callback may cancel or add watches while we iterate.
      for (const watch of [...watches]) if (watches.has(watch)) deliver(watch);
    },
    current: () => snapshot,
  };
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
