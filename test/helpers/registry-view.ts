import type { Instance, LbPolicy, RegistryView, ServiceEntry } from "../../src/registry/index.js";

/** An instance by id, with any field overridden; the rest are healthy defaults on port 8080. */
export type InstanceSpec = Partial<Instance> & { id: string };

/** A service entry as the registry's view holds it; instance i gets address 10.0.0.(i+1) unless given. */
export function entry(name: string, specs: readonly InstanceSpec[], lbPolicy: LbPolicy = "round_robin"): ServiceEntry {
  const instances = specs.map((spec, i): Instance => ({
    service: name, address: `10.0.0.${i + 1}`, port: 8080, zone: "", region: "", weight: 1, health: "healthy", metadata: {}, ...spec,
  }));
  return { service: { name, protocol: "grpc", lbPolicy, metadata: {} }, instances: new Map(instances.map((i) => [i.id, i])) };
}

/** A registry view at `revision` holding `entries`. */
export function view(revision: number, entries: readonly ServiceEntry[]): RegistryView {
  return { revision, services: new Map(entries.map((e) => [e.service.name, e])) };
}
