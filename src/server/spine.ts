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
  /** Registry changes within this window become one snapshot. */
  readonly coalesceMs: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

export interface Spine {
  /** Builds and publishes from the registry's current view now. */
  rebuild(): void;
  stop(): void;
}

/**
 * registry → snapshot builder → publish. A burst of registry changes within
 * `coalesceMs` of the first one becomes a single snapshot built from the
 * latest view. A build that fails keeps the last good snapshot in place.
 */
export function startSpine(deps: SpineDeps): Spine {
  const cache = createBuildCache();
  let cancelTimer: (() => void) | undefined;
  let lastRevision = -1;

  function rebuild(): void {
    cancelTimer?.();
    cancelTimer = undefined;
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
    if (cancelTimer) return;
    cancelTimer = deps.clock.setTimeout(rebuild, deps.coalesceMs);
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
