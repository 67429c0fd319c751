import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from "../proto/index.js";
import type { ResolvedEndpoint } from "./endpoint.js";
import type { ResourceUpdate, XdsClient } from "./xds-client.js";
import type { ResourceModel } from "./xds-resources.js";

/**
 * What xDS currently says about one target: `ok` with live endpoints; `held`,
 * the control plane deleted, emptied or broke something and the last good
 * endpoints should stay; `missing`, xDS has nothing usable for it.
 */
export type ChainUpdate =
  | { readonly status: "ok"; readonly endpoints: readonly ResolvedEndpoint[] }
  | { readonly status: "held"; readonly reason: string }
  | { readonly status: "missing"; readonly reason: string };

export interface ChainDeps {
  readonly xds: XdsClient;
  readonly strict: boolean;
  /** Called when an EDS update with no endpoints is ignored (non-strict). */
  readonly onEmptyIgnored: (edsName: string) => void;
}

interface Link {
  readonly typeUrl: ResourceTypeUrl;
  name: string;
  cancel?: () => void;
  last?: ResourceUpdate;
  /** An aggregate Cluster's children (gRFC A37): their watches, and the last update of each. */
  children?: { readonly names: readonly string[]; readonly last: Map<string, ResourceUpdate>; readonly cancel: () => void };
}

const ORDER: readonly ResourceTypeUrl[] = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE];

/**
 * Follows Listener `target` → its RouteConfiguration → the Cluster routed to
 * (for an aggregate, its first EDS child) → that Cluster's endpoints, re-subscribing as names change, and reports
 * the target's state after every change. Returns a cancel function.
 */
export function watchTargetChain(target: string, deps: ChainDeps, onUpdate: (update: ChainUpdate) => void): () => void {
  const links: Link[] = [];
  let cancelled = false;

  function setLink(index: number, name: string | undefined): void {
    const existing = links[index];
    if (existing && existing.name === name) return;
    for (const link of links.splice(index)) cancelLink(link);
    if (name === undefined) return;
    const link: Link = { typeUrl: ORDER[index]!, name };
    links[index] = link;
    link.cancel = deps.xds.watch(link.typeUrl, name, (update) => {
      if (cancelled || links[index] !== link) return;
      link.last = update;
      if (update.status !== "missing" && update.model.kind === "cluster" && update.model.children.length > 0) followAggregate(index, link, update.model.children);
      else if (update.status !== "missing") {
        unfollowAggregate(link);
        setLink(index + 1, nextName(target, update.model));
      }
      report();
    });
  }

  /**
   * An aggregate Cluster (DNS fallback, gRFC A37): the chain goes on with its
   * first child that is an EDS Cluster (its ClusterLoadAssignment); the
   * resolver has its own DNS fallback, so LOGICAL_DNS children are skipped,
   * and so are nested aggregates.
   */
  function followAggregate(index: number, link: Link, names: readonly string[]): void {
    if (link.children?.names.join("\u0000") !== names.join("\u0000")) {
      unfollowAggregate(link);
      const last = new Map<string, ResourceUpdate>();
      const cancels = names.map((name) =>
        deps.xds.watch(CLUSTER_TYPE, name, (update) => {
          if (cancelled || links[index] !== link) return;
          last.set(name, update);
          pickChild();
        }),
      );
      link.children = { names, last, cancel: () => cancels.forEach((cancel) => cancel()) };
    }
    pickChild();

    function pickChild(): void {
      const children = link.children;
      if (!children) return;
      for (const name of children.names) {
        const update = children.last.get(name);
        if (update?.status === "missing" || (update && update.model.kind === "cluster" && update.model.edsName === undefined)) continue;
        if (!update) return; // an earlier child may yet be the EDS one
        if (update.model.kind === "cluster") setLink(index + 1, update.model.edsName);
        report();
        return;
      }
      setLink(index + 1, undefined);
      report();
    }
  }

  function unfollowAggregate(link: Link): void {
    link.children?.cancel();
    delete link.children;
  }

  function cancelLink(link: Link): void {
    link.cancel?.();
    unfollowAggregate(link);
  }

  function report(): void {
    for (const link of links) {
      if (!link.last) return; // still waiting for this link
      if (link.last.status === "missing") return onUpdate({ status: "missing", reason: link.last.reason });
    }
    const held = links.find((l) => l.last?.status === "held");
    const eds = links[3]?.last;
    if (links.length < 4) {
      const broken = links[links.length - 1];
      if (broken?.last && broken.last.status !== "missing") {
        if (broken.typeUrl === CLUSTER_TYPE && broken.children && broken.children.names.some((name) => !broken.children?.last.has(name))) return; // children still coming
        const reason = broken.typeUrl === LISTENER_TYPE
          ? `listener ${broken.name} names no route configuration over RDS (an inline route_config or a server-side listener is not followed)`
          : broken.typeUrl === CLUSTER_TYPE
            ? `cluster ${broken.name} has no EDS cluster to follow (LOGICAL_DNS and nested aggregate clusters are not followed)`
            : `route configuration ${broken.name} has no route for ${target}`;
        return onUpdate({ status: "missing", reason });
      }
      return;
    }
    if (held?.last?.status === "held") return onUpdate({ status: "held", reason: held.last.reason });
    if (!eds || eds.status === "missing" || eds.model.kind !== "endpoints") return;
    if (eds.model.endpoints.length === 0) {
      const reason = `the control plane sent no endpoints for ${links[3]!.name}`;
      if (deps.strict) return onUpdate({ status: "missing", reason });
      deps.onEmptyIgnored(links[3]!.name);
      return onUpdate({ status: "held", reason });
    }
    onUpdate({ status: "ok", endpoints: eds.model.endpoints });
  }

  setLink(0, target);
  return () => {
    cancelled = true;
    for (const link of links.splice(0)) cancelLink(link);
  };
}

/** The name the next link of the chain watches, from this link's resource. */
function nextName(target: string, model: ResourceModel): string | undefined {
  switch (model.kind) {
    case "listener":
      return model.routeConfigName;
    case "route":
      return model.clusters.get(target) ?? model.clusters.get("*");
    case "cluster":
      return model.edsName;
    case "endpoints":
      return undefined;
  }
}
