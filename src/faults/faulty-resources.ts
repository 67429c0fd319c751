import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type Cluster, type Codec } from "../proto/index.js";
import { createResource, type Resource } from "../snapshot/index.js";
import type { Fault } from "./fault-injector.js";

/**
 * What the lab's resource faults do to a service's resources, as the
 * injector's decorators. The same decorators serve both layers (the server's
 * fault injector below the push guard, the pipeline faults above it), so a
 * fault means the same thing wherever it acts.
 */

/** The lab faults that change resources; stream-error and stall act on streams instead. */
export const RESOURCE_FAULT_KINDS = ["config-loss", "empty-endpoints", "invalid-config"] as const;
export type ResourceFaultKind = (typeof RESOURCE_FAULT_KINDS)[number];

export function isResourceFaultKind(kind: string): kind is ResourceFaultKind {
  return (RESOURCE_FAULT_KINDS as readonly string[]).includes(kind);
}

/** A change to resources: a drop by name, or a replacement of a resource that exists. */
export type SnapshotFault = Extract<Fault, { kind: "drop-resources" | "replace-resource" }>;

/**
 * Top-down, so a client never sees a Listener whose RouteConfiguration is
 * already gone; faults are removed in reverse, so restoring is bottom-up and
 * every name a restored resource references is already back.
 */
const CONFIG_LOSS_ORDER = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE] as const;

/**
 * The decorators that make fault `kind` on `services`, in the order they are
 * to be applied: config-loss drops the four resources of each service,
 * empty-endpoints replaces each ClusterLoadAssignment by an empty one, and
 * invalid-config replaces each Cluster by one with lb_policy MAGLEV. Throws
 * what the codec throws.
 */
export function resourceFaults(kind: ResourceFaultKind, services: readonly string[], codec: Codec): SnapshotFault[] {
  switch (kind) {
    case "config-loss":
      return CONFIG_LOSS_ORDER.map((typeUrl) => ({ kind: "drop-resources", typeUrl, names: [...services] }));
    case "empty-endpoints":
      return services.map((name) => ({ kind: "replace-resource", resource: emptyLoadAssignment(name, codec) }));
    case "invalid-config":
      return services.map((name) => ({ kind: "replace-resource", resource: maglevCluster(name, codec) }));
  }
}

/**
 * A valid ClusterLoadAssignment `name` with no endpoints: a client accepts it
 * (it is not NACKed) and is left with nothing to call.
 */
export function emptyLoadAssignment(name: string, codec: Codec): Resource {
  return createResource(ENDPOINT_TYPE, name, codec.encodeResource(ENDPOINT_TYPE, { cluster_name: name, endpoints: [] }));
}

/**
 * Cluster `name`, as the builder makes it but with lb_policy MAGLEV: valid
 * protobuf that stock gRPC clients NACK ("unsupported lb_policy"), as they
 * would a config that a pipeline got wrong.
 */
export function maglevCluster(name: string, codec: Codec): Resource {
  const cluster = {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: name },
    // The codec encodes any enum name the protos know; our typed model lists only the policies we build.
    lb_policy: "MAGLEV" as Cluster["lb_policy"],
  } satisfies Cluster;
  return createResource(CLUSTER_TYPE, name, codec.encodeResource(CLUSTER_TYPE, cluster));
}
