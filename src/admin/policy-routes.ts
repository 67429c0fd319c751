import { parsePolicyList, policyWire, type PolicyWire, type Registry } from "../registry/index.js";
import { param, type RouteSpec } from "./routes.js";

/** A document as the API shows it: `{service, subsets, routes, …}`, the shape of a policy file's document (policyWire). */
export type PolicyJson = PolicyWire;
const policyJson = policyWire;

/**
 * Traffic policies (DESIGN.md, "Traffic policy"; issue 18):
 * - `GET /v1/services/{service}/policy` (read) → 200 `{service, subsets, routes}`
 *   and the issue-19 fields it sets (outlierDetection, maxRequests,
 *   loadBalancing, dnsFallback, failover), the document as a policy file holds it; 404 when the service or its policy is absent.
 * - `PUT /v1/services/{service}/policy` (write), body `{subsets, routes, …}` (a
 *   `service` key, if present, must equal the path's) → 201 when the service
 *   had no policy, else 200, `{revision, policy: {service, subsets, routes}}`
 *   with defaults filled in (a lone target's weight 100). Creates the service when missing.
 * - `DELETE /v1/services/{service}/policy` (write) → 200 `{revision}`; 404 when there is none.
 * - `POST /v1/policies` (write), body `{documents: [{service, subsets, routes}, …]}`
 *   → 200 `{revision, documents: [{service, subsets, routes}, …]}`, every
 *   document applied in one registry commit: all or none.
 * - `POST /v1/policies/diff` (read: it changes nothing), the same body →
 *   200 `{revision, diffs: [{service, change: "create"|"update"|"unchanged", lines}]}`
 *   against the registry at `revision`.
 * Bad bodies answer 400 `{error}` with every problem, `path: message`,
 * joined by "; " (paths `documents[i]…` in the list bodies); nothing is applied.
 */
export function createPolicyRoutes(registry: Registry): readonly RouteSpec[] {
  return [
    {
      method: "GET",
      url: "/v1/services/:service/policy",
      scope: "read",
      handler: async (request) => policyJson(registry.getPolicy(param(request, "service"))),
    },
    {
      method: "PUT",
      url: "/v1/services/:service/policy",
      scope: "write",
      handler: async (request, reply) => {
        const result = await registry.putPolicy(param(request, "service"), request.body);
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, policy: policyJson(result.value) });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service/policy",
      scope: "write",
      handler: async (request) => registry.deletePolicy(param(request, "service")),
    },
    {
      method: "POST",
      url: "/v1/policies",
      scope: "write",
      handler: async (request) => {
        const result = await registry.applyPolicies(parsePolicyList(request.body));
        return { revision: result.revision, documents: result.documents.map(policyJson) };
      },
    },
    {
      method: "POST",
      url: "/v1/policies/diff",
      scope: "read",
      handler: async (request) => {
        const documents = parsePolicyList(request.body);
        // The revision first: the diff is computed against the view of that same revision, synchronously.
        const revision = registry.view().revision;
        return { revision, diffs: registry.diffPolicies(documents) };
      },
    },
  ];
}
