import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { HealthCheck, HealthCheckKind, Instance } from "../registry/index.js";
import { UNDAMPED, addFlip, releaseDelay, settle, type DampingState } from "./damping.js";
import { CHECK_JITTER, type DampingPolicy, type Verdict } from "./model.js";
import type { ProbeResult, ProbeSession, Prober } from "./prober.js";
import { NO_STREAK, recordResult, type Streak } from "./streak.js";

/** What a tracker needs; the monitor builds one per instance, the callbacks bound to that instance. */
export interface TrackerDeps {
  readonly clock: Clock;
  /** A number in [0, 1); jitter and the first delay come from it. */
  readonly random: () => number;
  readonly prober: Prober;
  readonly damping: DampingPolicy;
  readonly ttlGraceMs: number;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** When the instance last sent a heartbeat (or was first seen). */
  lastBeat(): number;
  /**
   * Heartbeats shared with other replicas (etcd): asked once the local TTL has
   * run out, before each step (unhealthy, removal); true counts as a heartbeat
   * received now. A rejection is logged, and the local TTL decides. Absent:
   * the local TTL alone decides.
   */
  readonly sharedBeat?: { alive(): Promise<boolean>; record(): void } | undefined;
  /** Asks for the registry's health of the instance to be `to`; a no-op when it already is. */
  setHealth(to: Verdict, why: string): void;
  /** Asks for the instance to be deregistered. */
  remove(why: string): void;
  /** The instance started or stopped being held unhealthy by damping. */
  onSuppression(suppressed: boolean): void;
  /** One active check finished (the monitor keeps the last one per instance); optional. */
  onCheck?(check: { readonly kind: HealthCheckKind; readonly ok: boolean; readonly detail: string }): void;
}

interface ActiveCheck {
  readonly config: HealthCheck;
  /** `address:port`: a new one restarts the checks. */
  readonly target: string;
  readonly session: ProbeSession;
  streak: Streak;
  cancelTimer?: () => void;
  abort?: AbortController;
}

interface Ttl {
  ttlMs: number;
  /** Undefined until the first heartbeat or the first expiry. */
  opinion?: Verdict;
  cancelTimer?: () => void;
  /** Set while the shared heartbeat is asked; a reschedule replaces it, and the stale answer is dropped. */
  asking?: object;
}

/** How long to wait before asking again when a removal did not go through. */
const REMOVE_RETRY_MS = 5000;

/** Unhealthy when any source says so; healthy when some source says so and none disagrees. */
function combine(...opinions: (Verdict | undefined)[]): Verdict | undefined {
  if (opinions.includes("unhealthy")) return "unhealthy";
  return opinions.includes("healthy") ? "healthy" : undefined;
}

/**
 * Runs the active checks and the TTL of one instance and decides its health:
 * unhealthy when the checks' streak or an expired TTL says so, healthy when
 * one of them says so and none disagrees, held unhealthy while damping
 * suppresses a flapping instance. Every decision goes to `deps.setHealth`,
 * which writes only what differs from the registry.
 */
export class InstanceTracker {
  private instance: Instance;
  private check: ActiveCheck | undefined;
  private ttl: Ttl | undefined;
  private damping: DampingState = UNDAMPED;
  private cancelRelease: (() => void) | undefined;
  /** The last defined combined opinion; a change from one verdict to the other is a flip. */
  private lastRaw: Verdict | undefined;

  constructor(
    instance: Instance,
    private readonly deps: TrackerDeps,
  ) {
    this.instance = instance;
  }

  /**
   * Follows the latest instance (a re-registration) and its service's
   * check. Unchanged values change nothing: checks keep their timers and
   * counts. A new target or new check settings restart the checks, keeping
   * the last verdict. When neither a check nor a TTL is left, an instance this
   * tracker had made unhealthy is made healthy again.
   */
  update(instance: Instance, config: HealthCheck | undefined): void {
    this.instance = instance;
    const checkRemoved = this.updateCheck(config) === "removed";
    const ttlRemoved = this.updateTtl() === "removed";
    if (checkRemoved || ttlRemoved) this.evaluate(checkRemoved ? "its service no longer has a health check" : "it no longer has a ttlMs");
  }

  /** A heartbeat arrived (its time is in `deps.lastBeat()`): a fresh TTL, and healthy again if the TTL had run out. */
  heartbeat(): void {
    if (!this.ttl) return;
    const was = this.ttl.opinion;
    this.ttl.opinion = "healthy";
    this.scheduleTtl(this.ttl);
    if (was !== "healthy") this.evaluate("heartbeat received");
  }

  /** Stops every timer and closes the probe session; a check in flight is aborted and its result dropped. Writes nothing. */
  stop(): void {
    this.stopCheck();
    this.ttl?.cancelTimer?.();
    this.ttl = undefined;
    this.cancelRelease?.();
    if (this.damping.suppressed) this.deps.onSuppression(false);
    this.damping = UNDAMPED;
  }

  /** Combines the opinions, counts flips, and asks for the health they add up to. */
  private evaluate(why: string): void {
    const policy = this.deps.damping;
    const now = this.deps.clock.now();
    const raw = combine(this.check?.streak.opinion, this.ttl?.opinion);
    // Before its first verdict, the health it was registered with is what a verdict flips from.
    const { health } = this.instance;
    const previous = this.lastRaw ?? (health === "healthy" || health === "unhealthy" ? health : undefined);
    const flipped = raw !== undefined && previous !== undefined && raw !== previous;
    this.setDamping(flipped ? addFlip(this.damping, policy, now) : settle(this.damping, policy, now));
    if (raw === undefined) {
      // Nothing judges the instance any more: undo our own unhealthy verdict.
      if (this.lastRaw === "unhealthy") this.deps.setHealth("healthy", why);
      this.lastRaw = undefined;
      return;
    }
    this.lastRaw = raw;
    if (raw === "healthy" && this.damping.suppressed) {
      const limits = `penalty ${Math.round(this.damping.penalty)} > ${policy.suppressLimit}, released below ${policy.reuseLimit}`;
      this.deps.setHealth("unhealthy", `${why}, but held unhealthy for flapping (${limits})`);
    } else {
      this.deps.setHealth(raw, why);
    }
  }

  private setDamping(next: DampingState): void {
    const was = this.damping.suppressed;
    this.damping = next;
    this.cancelRelease?.();
    this.cancelRelease = undefined;
    const delay = releaseDelay(next, this.deps.damping);
    if (delay !== undefined) {
      this.cancelRelease = this.deps.clock.setTimeout(() => this.evaluate("flapping stopped: its damping penalty decayed below the reuse limit"), delay);
    }
    if (was === next.suppressed) return;
    this.deps.onSuppression(next.suppressed);
    const at = { service: this.instance.service, id: this.instance.id, penalty: Math.round(next.penalty) };
    if (next.suppressed) this.deps.logger.warn({ ...at, releaseInMs: delay }, "instance is flapping; damping holds it unhealthy until its penalty decays");
    else this.deps.logger.info(at, "instance no longer held by damping");
  }

  private updateCheck(config: HealthCheck | undefined): "removed" | "kept" | "started" {
    const { address, port, service } = this.instance;
    const target = `${address}:${port}`;
    if (!config) {
      if (!this.check) return "kept";
      this.stopCheck();
      return "removed";
    }
    if (this.check && this.check.target === target && sameCheck(this.check.config, config)) return "kept";
    const opinion = this.check?.streak.opinion;
    this.stopCheck();
    const session = this.deps.prober.open({ kind: config.kind, address, port, service, path: config.path ?? "/" });
    const started: ActiveCheck = { config, target, session, streak: opinion === undefined ? NO_STREAK : { ...NO_STREAK, opinion } };
    this.check = started;
    // A random first delay within one interval spreads checks that start together (a restart, a new service).
    started.cancelTimer = this.deps.clock.setTimeout(() => this.runCheck(started), this.deps.random() * config.intervalMs);
    return "started";
  }

  private stopCheck(): void {
    if (!this.check) return;
    this.check.cancelTimer?.();
    this.check.abort?.abort();
    this.check.session.close();
    this.check = undefined;
  }

  private runCheck(active: ActiveCheck): void {
    active.cancelTimer = undefined;
    this.probe(active).then(
      (result) => this.onResult(active, result),
      (err: unknown) => this.deps.logger.error({ err, service: this.instance.service, id: this.instance.id }, "health check bookkeeping failed; checks of this instance stop"),
    );
  }

  /** One check, failed by the clock after `timeoutMs` whatever the session does. */
  private probe(active: ActiveCheck): Promise<ProbeResult> {
    const abort = new AbortController();
    active.abort = abort;
    const { timeoutMs } = active.config;
    return new Promise<ProbeResult>((resolve) => {
      const cancelTimeout = this.deps.clock.setTimeout(() => {
        resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
        abort.abort();
      }, timeoutMs);
      active.session.check({ timeoutMs, signal: abort.signal }).then(
        (result) => (cancelTimeout(), resolve(result)),
        (err: unknown) => (cancelTimeout(), resolve({ ok: false, reason: `probe error: ${err instanceof Error ? err.message : String(err)}` })),
      );
    });
  }

  private onResult(active: ActiveCheck, result: ProbeResult): void {
    // Stopped or restarted while the check ran: its result belongs to nothing now.
    if (this.check !== active) return;
    active.abort = undefined;
    const { kind, intervalMs } = active.config;
    this.deps.metrics?.healthChecks.inc({ kind, result: result.ok ? "pass" : "fail" });
    this.deps.onCheck?.({ kind, ok: result.ok, detail: result.ok ? passDetail(kind) : result.reason });
    active.streak = recordResult(active.streak, result.ok, active.config);
    const { service, id } = this.instance;
    this.deps.logger.debug({ service, id, kind, ok: result.ok, ...(!result.ok && { reason: result.reason }) }, "health check");
    const streak = result.ok ? `${active.streak.passes} ${kind} check(s) passed in a row` : `${active.streak.failures} ${kind} check(s) failed in a row (last: ${result.reason})`;
    this.evaluate(streak);
    const delay = intervalMs * (1 + CHECK_JITTER * (2 * this.deps.random() - 1));
    active.cancelTimer = this.deps.clock.setTimeout(() => this.runCheck(active), delay);
  }

  private updateTtl(): "removed" | "kept" | "started" {
    const { ttlMs } = this.instance;
    if (ttlMs === undefined) {
      if (!this.ttl) return "kept";
      this.ttl.cancelTimer?.();
      this.ttl = undefined;
      return "removed";
    }
    if (this.ttl?.ttlMs === ttlMs) return "kept";
    this.ttl ??= { ttlMs };
    this.ttl.ttlMs = ttlMs;
    this.scheduleTtl(this.ttl);
    return "started";
  }

  /**
   * Sets the timer for the TTL's next step: expiry (unhealthy), then removal
   * `ttlGraceMs` later. Each step past expiry first asks the shared heartbeat
   * (when there is one) unless `asked` says it just answered "not alive".
   */
  private scheduleTtl(state: Ttl, asked = false): void {
    const { clock, ttlGraceMs } = this.deps;
    state.cancelTimer?.();
    state.cancelTimer = undefined;
    state.asking = undefined;
    const now = clock.now();
    const lastBeat = this.deps.lastBeat();
    const expiresAt = lastBeat + state.ttlMs;
    const next = () => this.scheduleTtl(state);
    if (now < expiresAt) {
      state.cancelTimer = clock.setTimeout(next, expiresAt - now);
      return;
    }
    if (this.deps.sharedBeat && !asked) {
      this.askSharedBeat(state, this.deps.sharedBeat);
      return;
    }
    const silence = `no heartbeat for ${now - lastBeat} ms (ttlMs ${state.ttlMs})`;
    if (state.opinion !== "unhealthy") {
      state.opinion = "unhealthy";
      this.evaluate(silence);
    }
    const removeAt = expiresAt + ttlGraceMs;
    if (now < removeAt) {
      state.cancelTimer = clock.setTimeout(next, removeAt - now);
      return;
    }
    this.deps.remove(`${silence}, and the ${ttlGraceMs} ms grace period has passed`);
    // Normally the deletion stops this tracker first; the retry is for a removal that failed.
    state.cancelTimer = clock.setTimeout(next, REMOVE_RETRY_MS);
  }

  /** Asks another replica's heartbeats (etcd) before the TTL takes its next step; a live one counts as a heartbeat now. */
  private askSharedBeat(state: Ttl, shared: NonNullable<TrackerDeps["sharedBeat"]>): void {
    const token = {};
    state.asking = token;
    const current = () => this.ttl === state && state.asking === token;
    shared.alive().then(
      (alive) => {
        if (!current()) return;
        if (!alive) return this.scheduleTtl(state, true);
        shared.record();
        this.heartbeat();
      },
      (err: unknown) => {
        if (!current()) return;
        this.deps.logger.warn({ err, service: this.instance.service, id: this.instance.id }, "could not read the shared heartbeat; the local TTL decides");
        this.scheduleTtl(state, true);
      },
    );
  }
}

/** What a passing check saw, in the words of its kind. */
function passDetail(kind: HealthCheckKind): string {
  return kind === "grpc" ? "grpc SERVING" : kind === "http" ? "http 2xx" : "tcp connected";
}

function sameCheck(a: HealthCheck, b: HealthCheck): boolean {
  return a.kind === b.kind && a.path === b.path && a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs
    && a.healthyThreshold === b.healthyThreshold && a.unhealthyThreshold === b.unhealthyThreshold;
}
