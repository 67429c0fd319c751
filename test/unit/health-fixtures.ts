/** A fake prober, a registry on a memory store and a fake clock, for the health monitor's unit tests. */
import { Writable } from "node:stream";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { createHealthMonitor, type DampingPolicy, type HealthMonitor, type Ownership, type ProbeResult, type ProbeTarget, type Prober } from "../../src/health/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Instance, type Liveness, type Registry } from "../../src/registry/index.js";

/** What a fake target answers: pass, fail, or never answer. */
export type Answer = "pass" | "fail" | "hang";

export interface FakeProber extends Prober {
  /** Sets what checks of `port` answer from now on (all pass at first). */
  answer(port: number, answer: Answer): void;
  /** Clock times of every check of `port` that started. */
  checks(port: number): number[];
  /** Targets of the sessions opened, in order. */
  readonly opened: ProbeTarget[];
  /** Sessions closed, by port. */
  closed(port: number): number;
  /** Checks whose abort signal fired. */
  aborted(): number;
}

export function createFakeProber(clock: FakeClock): FakeProber {
  const answers = new Map<number, Answer>();
  const times = new Map<number, number[]>();
  const closed = new Map<number, number>();
  const opened: ProbeTarget[] = [];
  let aborted = 0;
  return {
    opened,
    answer: (port, answer) => void answers.set(port, answer),
    checks: (port) => times.get(port) ?? [],
    closed: (port) => closed.get(port) ?? 0,
    aborted: () => aborted,
    open(target) {
      opened.push(target);
      return {
        async check({ signal }): Promise<ProbeResult> {
          times.set(target.port, [...(times.get(target.port) ?? []), clock.now()]);
          signal.addEventListener("abort", () => aborted++);
          const answer = answers.get(target.port) ?? "pass";
          if (answer === "hang") return new Promise<ProbeResult>(() => undefined);
          return answer === "pass" ? { ok: true } : { ok: false, reason: "connection refused" };
        },
        close: () => void closed.set(target.port, (closed.get(target.port) ?? 0) + 1),
      };
    },
  };
}

/** Ownership the test flips by hand. */
export function createFakeOwnership(owned: (service: string, id: string) => boolean): Ownership & { set(next: (service: string, id: string) => boolean): void } {
  let owns = owned;
  const listeners = new Set<() => void>();
  return {
    owns: (service, id) => owns(service, id),
    subscribe(onChange) {
      listeners.add(onChange);
      return () => void listeners.delete(onChange);
    },
    set(next) {
      owns = next;
      for (const listener of listeners) listener();
    },
  };
}

export interface HealthSetup {
  readonly clock: FakeClock;
  readonly prober: FakeProber;
  readonly registry: Registry;
  readonly monitor: HealthMonitor;
  readonly metrics: Metrics;
  /** Info-and-above log lines, parsed. */
  logLines(): Record<string, unknown>[];
  instance(service: string, id: string): Instance | undefined;
  /**
   * Advances the fake clock in `step` ms slices, letting promises settle after
   * each. Keep `step` below the check timeout: within one slice a timeout
   * fires before a probe's answer (a promise) can arrive.
   */
  advance(ms: number, step?: number): Promise<void>;
  close(): Promise<void>;
}

export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Jitter-free by default: random() = 0.5 gives a first check half an interval in and then exactly one interval apart. */
export async function setupHealth(options: { random?: () => number; ownership?: Ownership; ttlGraceMs?: number; damping?: DampingPolicy; liveness?: Liveness } = {}): Promise<HealthSetup> {
  const clock = createFakeClock(1_000_000);
  const prober = createFakeProber(clock);
  const registry = await createRegistry(createMemoryStore());
  const metrics = createMetrics({ processMetrics: false });
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk, _encoding, next) => (lines.push(String(chunk)), next()) });
  const monitor = createHealthMonitor({
    registry, clock, prober, metrics,
    logger: createLogger({ level: "info", destination }),
    random: options.random ?? (() => 0.5),
    ...(options.ownership && { ownership: options.ownership }),
    ...(options.ttlGraceMs !== undefined && { ttlGraceMs: options.ttlGraceMs }),
    ...(options.damping && { damping: options.damping }),
    ...(options.liveness && { liveness: options.liveness }),
  });
  return {
    clock, prober, registry, monitor, metrics,
    logLines: () => lines.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
    instance: (service, id) => registry.view().services.get(service)?.instances.get(id),
    async advance(ms, step = 100) {
      for (let done = 0; done < ms; done += step) {
        clock.advance(Math.min(step, ms - done));
        await settle();
      }
    },
    async close() {
      await monitor.stop();
      await registry.close();
    },
  };
}

/** A gRPC check every 1000 ms (timeout 500), healthy after 2 passes, unhealthy after 3 failures. */
export const CHECK = { kind: "grpc", intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 } as const;

/** Puts a service with `healthCheck` and one instance per port (ids `i<port>`). */
export async function putChecked(registry: Registry, service: string, healthCheck: object | undefined, ports: readonly number[]): Promise<void> {
  await registry.putService(service, healthCheck ? { healthCheck } : {});
  for (const port of ports) await registry.putInstance(service, `i${port}`, { address: "10.0.0.1", port });
}

/** The value of a counter or gauge with these labels (0 when never set). */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}
