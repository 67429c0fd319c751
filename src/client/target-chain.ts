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
}

const ORDER: readonly ResourceTypeUrl[] = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE];

/**
 * Follows Listener `target` → its RouteConfiguration → the Cluster routed to
 * → that Cluster's endpoints, re-subscribing as names change, and reports
 * the target's state after every change. Returns a cancel function.
 */
export function watchTargetChain(target: string, deps: ChainDeps, onUpdate: (update: ChainUpdate) => void): () => void {
  const links: Link[] = [];
  let cancelled = false;

  function setLink(index: number, name: string | undefined): void {
    const existing = links[index];
    if (existing && existing.name === name) return;
    for (const link of links.splice(index)) link.cancel?.();
    if (name === undefined) return;
    const link: Link = { typeUrl: ORDER[index]!, name };
    links[index] = link;
    link.cancel = deps.xds.watch(link.typeUrl, name, (update) => {
      if (cancelled || links[index] !== link) return;
      link.last = update;
      if (update.status !== "missing") setLink(index + 1, nextName(target, update.model));
      report();
    });
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
        const reason = broken.typeUrl === LISTENER_TYPE
          ? `listener ${broken.name} names no route configuration over RDS (an inline route_config or a server-side listener is not followed)`
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
    for (const link of links.splice(0)) link.cancel?.();
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
