import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { Registry } from "../registry/index.js";
import type { RegistryView } from "../registry/index.js";
import { DEFAULT_SECURITY_OPTIONS, buildInSteps, buildSnapshot, createBuildCache, type BuildResult, type FailingService, type Snapshot } from "../snapshot/index.js";
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
  /**
   * Called with each step of a stepped build (see startSpine), and the step
   * or snapshot before it: never published, they let what comes after the
   * builder (the push guard) do its per-resource work ahead, a step at a time.
   */
  readonly prepare?: ((before: Snapshot | undefined, step: Snapshot) => void) | undefined;
  /** How long a stepped build may hold the event loop before it gives a turn; SLICE_MS by default. */
  readonly sliceMs?: number;
  /** The trust domain (`--trust-domain`) whose SPIFFE IDs mTLS and intentions name; the builder's default without it. */
  readonly trustDomain?: string | undefined;
  /** The DNS domain (`--dns-domain`): a DNS fallback's default host is `{service}.service.{dnsDomain}`; `mesh` without it. */
  readonly dnsDomain?: string | undefined;
  /**
   * Called before each publish with the snapshot's revision and the clock
   * time of the first registry change of the burst it holds (none for a
   * build no change started, such as the first): push propagation is
   * measured from there.
   */
  readonly onChangeBuilt?: ((revision: number, changedAt: number) => void) | undefined;
}

/** A burst of at least this many registry changes is prepared in slices before its build. */
export const SLICED_BURST = 64;
/** Changed services per step of a stepped build. */
export const STEP_SERVICES = 64;
/** After this long (ms) a stepped build gives the event loop a turn. */
export const SLICE_MS = 8;

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
 *
 * A build is one synchronous turn, and its cost follows the changed
 * services. So that a big burst (thousands of services changed within
 * `maxDelayMs` under a steady write load) does not stall the event loop, a
 * burst of SLICED_BURST changes or more is built in steps of STEP_SERVICES
 * services (buildInSteps), with a turn of the event loop whenever `sliceMs`
 * has passed; `prepare` sees each step, so what comes after the builder (the
 * push guard's validation) can do its per-resource work there too. Only the
 * last step is published. Changes that arrive meanwhile wait for the next
 * build; a rebuild() called meanwhile supersedes the stepped one.
 */
export function startSpine(deps: SpineDeps): Spine {
  const cache = createBuildCache();
  const security = { ...DEFAULT_SECURITY_OPTIONS, ...(deps.trustDomain !== undefined && { trustDomain: deps.trustDomain }), ...(deps.dnsDomain !== undefined && { dnsDomain: deps.dnsDomain }) };
  const book = createFailureBook(deps);
  const sliceMs = deps.sliceMs ?? SLICE_MS;
  let previous = deps.initial;
  let cancelTimer: (() => void) | undefined;
  let burstStart: number | undefined;
  /** When the first change of the build under way came; taken from burstStart as the build begins. */
  let changedAt: number | undefined;
  let lastRevision = -1;
  /** Changes since the last build began: a large burst is built in steps. */
  let pending = 0;
  /** Counts builds begun: a stepped build stops when another begins. */
  let builds = 0;
  let stepping = false;
  let stopped = false;

  /** Begins a build of the registry's current view; undefined when it is the one built last. */
  function begin(): RegistryView | undefined {
    cancelTimer?.();
    cancelTimer = undefined;
    changedAt = burstStart;
    burstStart = undefined;
    pending = 0;
    builds++;
    const view = deps.registry.view();
    return view.revision === lastRevision ? undefined : view;
  }

  function publish(view: RegistryView, result: BuildResult, startedMs: number, from: number | undefined): void {
    deps.metrics?.snapshotBuild.observe((performance.now() - startedMs) / 1000);
    deps.metrics?.registryRevision.set(view.revision);
    if (from !== undefined) deps.onChangeBuilt?.(view.revision, from);
    book.record(view, result.failures, previous?.revision);
    lastRevision = view.revision;
    previous = result.snapshot;
    deps.metrics?.snapshotBuilds.inc({ result: result.ok ? "ok" : "partial" });
    deps.logger.debug({ revision: view.revision, version: result.snapshot.version, failing: result.failures.length }, "snapshot built");
    deps.publish(result.snapshot);
  }

  function rebuild(): void {
    const view = begin();
    const started = performance.now();
    if (view) publish(view, buildSnapshot(view, deps.codec, cache, previous, security), started, changedAt);
  }

  /** The timer's build: in one turn for a small burst, in steps for a large one. */
  function due(): void {
    cancelTimer = undefined;
    // The stepped build under way was begun from an earlier view; these changes make another build once it is done.
    if (stepping) return void (cancelTimer = deps.clock.setTimeout(due, deps.minDelayMs));
    if (pending < SLICED_BURST) return rebuild();
    const view = begin();
    if (!view) return;
    stepping = true;
    void buildStepped(view, builds, changedAt)
      .catch((err: unknown) => {
        deps.logger.error({ err }, "a stepped snapshot build failed; building in one turn");
        if (!stopped) rebuild();
      })
      .finally(() => {
        stepping = false;
      });
  }

  async function buildStepped(view: RegistryView, build: number, from: number | undefined): Promise<void> {
    const started = performance.now();
    const steps = buildInSteps(view, deps.codec, cache, previous, STEP_SERVICES, security);
    let before = previous;
    let turns = 0;
    let sliceEnd = performance.now() + sliceMs;
    for (;;) {
      const step = steps.next();
      if (step.done) {
        deps.logger.debug({ revision: view.revision, turns, ms: Math.round(performance.now() - started) }, "snapshot built in steps");
        return publish(view, step.value, started, from);
      }
      deps.prepare?.(before, step.value);
      before = step.value;
      if (performance.now() < sliceEnd) continue;
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Stopped, or a rebuild() came in between: that build is newer, and the cache now starts from it.
      if (stopped || builds !== build) return;
      turns++;
      sliceEnd = performance.now() + sliceMs;
    }
  }

  const unsubscribe = deps.registry.subscribe(() => {
    pending++;
    const now = deps.clock.now();
    burstStart ??= now;
    const at = Math.min(now + deps.minDelayMs, burstStart + deps.maxDelayMs);
    cancelTimer?.();
    cancelTimer = deps.clock.setTimeout(due, Math.max(0, at - now));
  });
  rebuild();

  return {
    rebuild,
    failure: (service) => book.get(service),
    failures: () => book.list(),
    stop() {
      stopped = true;
      unsubscribe();
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}
