/**
 * Locality failover (issue 19): a policy's `failover` list orders a
 * service's localities into EDS priorities, so a stock client (gRPC's
 * priority LB policy) uses the first priority that has a usable endpoint and
 * spills over to the next only when it has none.
 *
 * The order is the same for every client: one ClusterLoadAssignment per
 * service (and subset) is served to all of them, so the client's own node
 * locality is not consulted. Priorities per client locality would need a
 * Cluster and ClusterLoadAssignment per locality, i.e. per-locality
 * snapshots; steadymesh does not build those.
 */
import type { ClusterLoadAssignment, LocalityLbEndpoints } from "../proto/index.js";
import type { FailoverPolicy } from "../registry/index.js";

/**
 * `assignment` with each locality's priority set from `failover`: the
 * localities of the first listed zone (or region) that has any get priority
 * 0, the next such one 1, and so on; localities not listed come last, in one
 * priority. Priorities run from 0 without gaps (gRPC clients NACK a gap), so
 * a listed zone with no usable instance takes no priority. Localities are
 * kept in priority order, then in their given order.
 */
export function withFailoverPriorities(assignment: ClusterLoadAssignment, failover: FailoverPolicy): ClusterLoadAssignment {
  const order = failover.zones ?? failover.regions ?? [];
  const key = (group: LocalityLbEndpoints): string => (failover.zones ? group.locality?.zone : group.locality?.region) ?? "";
  const rankOf = (group: LocalityLbEndpoints): number => {
    const index = order.indexOf(key(group));
    return index < 0 ? order.length : index;
  };
  const ranks = [...new Set(assignment.endpoints.map(rankOf))].sort((a, b) => a - b);
  const endpoints = assignment.endpoints
    .map((group, index) => ({ group, index, priority: ranks.indexOf(rankOf(group)) }))
    .sort((a, b) => a.priority - b.priority || a.index - b.index)
    .map(({ group, priority }) => (priority === 0 ? group : { ...group, priority }));
  return { ...assignment, endpoints };
}
