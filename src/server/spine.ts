import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { Registry } from "../registry/index.js";
import { buildSnapshot, createBuildCache, type FailingService, type Snapshot } from "../snapshot/index.js";
import { createFailureBook } from "./failure-book.js";

/** All the spine needs of the registry: its current view, and word of each change. Nothing that writes. */
export type RegistryFeed = Pick<Registry, "view" | "subscribe">;

export interface SpineDeps {
  readonly registry: RegistryFeed;
  readonly codec: Codec;
  /** Where each new consistent snapshot goes (the push guard, or the xDS cache directly). */
  readonly publish: (snapshot: Snapshot) => void;
  readonly clock: Clock;
  /** A burst of registry changes becomes one snapshot once no change has come for this long… */
  readonly minDelayMs: number;
  /** …or this long after the burst's first change, whichever is sooner. */
  readonly maxDelayMs: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /**
   * What clients had before this process started (the push guard's restored
   * generation): a service that does not build on the first build keeps its
   * resources from it.
   */
  readonly initial?: Snapshot | undefined;
}

export interface Spine {
  /** Builds and publishes from the registry's current view now. */
  rebuild(): void;
  /** The service's build failure, or undefined while it builds (or is unknown). */
  failure(service: string): FailingService | undefined;
  /** Every service whose configuration is not being updated, by name. */
  failures(): FailingService[];
  stop(): void;
}

/**
 * registry → snapshot builder → publish, with push coalescing as Istio's
 * debounce does it: after a change the spine waits until `minDelayMs` pass
 * with no further change, but never longer than `maxDelayMs` after the first
 * change of the burst, then builds one snapshot from the latest view. Every
 * build is published: a service that does not build keeps the resources of
 * the last snapshot (see buildSnapshot), and is tracked (failure-book.ts)
 * until it builds again.
 */
export function startSpine(deps: SpineDeps): Spine {
  const cache = createBuildCache();
  const book = createFailureBook(deps);
  let previous = deps.initial;
  let cancelTimer: (() => void) | undefined;
  let burstStart: number | undefined;
  let lastRevision = -1;

  function rebuild(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    burstStart = undefined;
    const view = deps.registry.view();
    if (view.revision === lastRevision) return;
    const result = buildSnapshot(view, deps.codec, cache, previous);
    deps.metrics?.registryRevision.set(view.revision);
    book.record(view, result.failures, previous?.revision);
    lastRevision = view.revision;
    previous = result.snapshot;
    deps.metrics?.snapshotBuilds.inc({ result: result.ok ? "ok" : "partial" });
    deps.logger.debug({ revision: view.revision, version: result.snapshot.version, failing: result.failures.length }, "snapshot built");
    deps.publish(result.snapshot);
  }

  const unsubscribe = deps.registry.subscribe(() => {
    const now = deps.clock.now();
    burstStart ??= now;
    const due = Math.min(now + deps.minDelayMs, burstStart + deps.maxDelayMs);
    cancelTimer?.();
    cancelTimer = deps.clock.setTimeout(rebuild, Math.max(0, due - now));
  });
  rebuild();

  return {
    rebuild,
    failure: (service) => book.get(service),
    failures: () => book.list(),
    stop() {
      unsubscribe();
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}
