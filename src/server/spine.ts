import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { Registry } from "../registry/index.js";
import { buildSnapshot, createBuildCache, type Snapshot } from "../snapshot/index.js";

export interface SpineDeps {
  readonly registry: Registry;
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
}

export interface Spine {
  /** Builds and publishes from the registry's current view now. */
  rebuild(): void;
  stop(): void;
}

/**
 * registry → snapshot builder → publish, with push coalescing as Istio's
 * debounce does it: after a change the spine waits until `minDelayMs` pass
 * with no further change, but never longer than `maxDelayMs` after the first
 * change of the burst, then builds one snapshot from the latest view. A
 * build that fails keeps the last good snapshot in place.
 */
export function startSpine(deps: SpineDeps): Spine {
  const cache = createBuildCache();
  let cancelTimer: (() => void) | undefined;
  let burstStart: number | undefined;
  let lastRevision = -1;

  function rebuild(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    burstStart = undefined;
    const view = deps.registry.view();
    if (view.revision === lastRevision) return;
    const result = buildSnapshot(view, deps.codec, cache);
    deps.metrics?.registryRevision.set(view.revision);
    if (!result.ok) {
      deps.metrics?.snapshotBuilds.inc({ result: "error" });
      deps.logger.error({ revision: view.revision, issues: result.errors }, "snapshot build failed; clients keep the last good snapshot");
      return;
    }
    lastRevision = view.revision;
    deps.metrics?.snapshotBuilds.inc({ result: "ok" });
    deps.logger.debug({ revision: view.revision, version: result.snapshot.version }, "snapshot built");
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
    stop() {
      unsubscribe();
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}
