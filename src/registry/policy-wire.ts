import type { PolicyDocument, TrafficPolicy } from "./policy.js";

/**
 * A policy document as files, the admin API and the CLI carry it: the
 * `service` key, then the policy's fields in canonical order (policy.ts),
 * absent optional fields left out.
 */
export type PolicyWire = { readonly service: string } & TrafficPolicy;

/** The wire form of `document`; `policyYaml` renders it and `GET /v1/services/{service}/policy` answers it. */
export function policyWire(document: PolicyDocument): PolicyWire {
  const { subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover } = document.policy;
  return {
    service: document.service,
    subsets,
    routes,
    ...(outlierDetection !== undefined && { outlierDetection }),
    ...(maxRequests !== undefined && { maxRequests }),
    ...(loadBalancing !== undefined && { loadBalancing }),
    ...(dnsFallback !== undefined && { dnsFallback }),
    ...(failover !== undefined && { failover }),
  };
}

/** The document a wire form holds, as the admin API gave it (already validated there). */
export function documentFromWire(wire: PolicyWire): PolicyDocument {
  const { service, ...policy } = wire;
  return { service, policy };
}
