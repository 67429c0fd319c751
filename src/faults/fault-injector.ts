import type { ResourceTypeUrl } from "../proto/index.js";
import type { Resource } from "../snapshot/index.js";
import { responseVersion, type ResourceWatcher, type WatchRequest, type WatchResponse } from "../xds/index.js";

/**
 * A control-plane failure to inject. Each is applied around the real
 * components (a decorator on the ResourceWatcher, a gate on new streams),
 * never as a flag inside them.
 */
export type Fault =
  /** The named resources vanish from responses, as configs did on 8 March 2022. */
  | { readonly kind: "drop-resources"; readonly typeUrl: ResourceTypeUrl; readonly names: readonly string[] }
  /** A resource is replaced by other bytes (e.g. one a client must NACK). */
  | { readonly kind: "replace-resource"; readonly resource: Resource }
  /** Every new ADS stream ends at once with this gRPC status. */
  | { readonly kind: "stream-error"; readonly code: number; readonly details: string }
  /** Streams are accepted and never answered. */
  | { readonly kind: "stall" };

export interface FaultInjector {
  /** The watcher the xDS server should use: the real one, seen through the active faults. */
  readonly watcher: ResourceWatcher;
  /**
   * Called by the xDS server for each new stream (it is the server's
   * StreamGate). Returns a status to refuse the stream with, or a detach
   * function for when it closes. Adding a stream-error fault also ends every
   * attached stream, so existing clients reconnect into the failure.
   */
  attachStream(stream: { end(code: number, details: string): void }): StreamAdmission;
  /** Activates a fault; returns its id. Open watches see the change at once. */
  add(fault: Fault): string;
  remove(id: string): boolean;
  clear(): void;
  active(): ReadonlyArray<{ readonly id: string; readonly fault: Fault }>;
}

export type StreamAdmission = { readonly refuse: { code: number; details: string } } | { readonly detach: () => void };

interface Tracked {
  readonly request: WatchRequest;
  readonly onResponse: (response: WatchResponse) => void;
  inner?: WatchResponse;
  lastVersion?: string;
}

export function createFaultInjector(inner: ResourceWatcher): FaultInjector {
  const faults = new Map<string, Fault>();
  const watches = new Set<Tracked>();
  const streams = new Set<(code: number, details: string) => void>();
  let seq = 0;

  function streamError(): { code: number; details: string } | undefined {
    for (const fault of faults.values()) if (fault.kind === "stream-error") return { code: fault.code, details: fault.details };
    return undefined;
  }

  function deliver(w: Tracked): void {
    if (!w.inner || [...faults.values()].some((f) => f.kind === "stall")) return;
    const response = applyFaults(w.inner, [...faults.values()]);
    if (response.version === w.lastVersion) return;
    w.lastVersion = response.version;
    w.onResponse(response);
  }

  function changed(): void {
    for (const w of [...watches]) if (watches.has(w)) deliver(w);
  }

  return {
    watcher: {
      watch(request, onResponse) {
        const tracked: Tracked = { request, onResponse };
        watches.add(tracked);
        const cancel = inner.watch(request, (response) => {
          tracked.inner = response;
          deliver(tracked);
        });
        return () => {
          watches.delete(tracked);
          cancel();
        };
      },
    },
    attachStream(stream) {
      const refusal = streamError();
      if (refusal) return { refuse: refusal };
      const end = (code: number, details: string) => stream.end(code, details);
      streams.add(end);
      return { detach: () => streams.delete(end) };
    },
    add(fault) {
      const id = `f${++seq}`;
      faults.set(id, fault);
      if (fault.kind === "stream-error") {
        for (const end of [...streams]) end(fault.code, fault.details);
        streams.clear();
      }
      changed();
      return id;
    },
    remove(id) {
      const removed = faults.delete(id);
      if (removed) changed();
      return removed;
    },
    clear() {
      faults.clear();
      changed();
    },
    active: () => [...faults].map(([id, fault]) => ({ id, fault })),
  };
}

function applyFaults(response: WatchResponse, faults: readonly Fault[]): WatchResponse {
  let resources = response.resources;
  for (const fault of faults) {
    if (fault.kind === "drop-resources" && fault.typeUrl === response.typeUrl) {
      resources = resources.filter((r) => !fault.names.includes(r.name));
    } else if (fault.kind === "replace-resource" && fault.resource.typeUrl === response.typeUrl) {
      resources = resources.map((r) => (r.name === fault.resource.name ? fault.resource : r));
    }
  }
  if (resources === response.resources) return response;
  return { ...response, version: responseVersion(resources), resources };
}
