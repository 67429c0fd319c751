import assert from "node:assert/strict";
import { loadCodec } from "../../src/proto/index.js";
import type { Instance, LbPolicy, RegistryView, ServiceEntry } from "../../src/registry/index.js";
import { buildSnapshot, type Snapshot } from "../../src/snapshot/index.js";

/** Registry entries and built snapshots for the push guard's unit tests. */
export const codec = loadCodec();

export type InstanceSpec = Partial<Instance> & { address: string };

/**
 * A service with one instance per spec (or address): ids `i-0`, `i-1`, …,
 * healthy, port 8080, weight `options.weight` (1), no locality unless given.
 */
export function entry(name: string, specs: readonly (string | InstanceSpec)[], options: { lbPolicy?: LbPolicy; weight?: number } = {}): ServiceEntry {
  const instances = specs.map((spec, i): Instance => ({
    service: name,
    id: `i-${i}`,
    port: 8080,
    zone: "",
    region: "",
    weight: options.weight ?? 1,
    health: "healthy",
    metadata: {},
    ...(typeof spec === "string" ? { address: spec } : spec),
  }));
  const service = { name, protocol: "grpc" as const, lbPolicy: options.lbPolicy ?? "round_robin", metadata: {} };
  return { service, instances: new Map(instances.map((instance) => [instance.id, instance])) };
}

/** The snapshot the builder makes of `entries` at `revision`; fails the test when it does not build. */
export function build(revision: number, entries: readonly ServiceEntry[]): Snapshot {
  const view: RegistryView = { revision, services: new Map(entries.map((e) => [e.service.name, e])) };
  const result = buildSnapshot(view, codec);
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

/** `count` addresses 10.0.<net>.1, 10.0.<net>.2, … */
export function addresses(net: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.0.${net}.${i + 1}`);
}
