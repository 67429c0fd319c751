import { createZone, serviceNames } from "../dns/index.js";
import type { EventHub } from "../events/index.js";
import type { HealthMonitor } from "../health/index.js";
import type { Registry } from "../registry/index.js";
import type { ClientStatus } from "../xds/index.js";
import { iso, knownService, needEvents, noQuery } from "./console-params.js";
import type { RouteSpec } from "./routes.js";

/** Clients one `GET /v1/services/{service}/clients` lists; `total` counts them all. */
export const SERVICE_CLIENTS_SHOWN = 200;

/** The DNS domain when serve gives none (DNS_DEFAULTS.domain). */
const DEFAULT_DNS_DOMAIN = "mesh";

export interface ServiceDetailDeps {
  readonly registry: Pick<Registry, "view">;
  readonly clients: { list(): readonly ClientStatus[] };
  readonly events?: EventHub | undefined;
  /** The health monitor's last checks; without one every service answers `{}`. */
  readonly checks?: Pick<HealthMonitor, "lastChecks"> | undefined;
  /** `serve --dns-domain`; `mesh` without it. */
  readonly dnsDomain?: string | undefined;
}

/**
 * What the console's service page shows beside the service itself: its
 * instances over time, the xDS clients watching it, its DNS names (from
 * src/dns's own naming) and the last health check of each instance. Each
 * answers 400 for a malformed name and 404 for a service the registry does
 * not have.
 */
export function createServiceDetailRoutes(deps: ServiceDetailDeps): readonly RouteSpec[] {
  return [
    {
      method: "GET",
      url: "/v1/services/:service/history",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const { name } = knownService(request, deps.registry);
        const samples = needEvents(deps.events).history(name) ?? [];
        return { service: name, samples: samples.map(({ at, healthy, unhealthy, unknown, draining }) => ({ at: iso(at), healthy, unhealthy, unknown, draining })) };
      },
    },
    {
      method: "GET",
      url: "/v1/services/:service/clients",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const { name } = knownService(request, deps.registry);
        const watching = deps.clients.list().filter((client) => watches(client, name));
        return { service: name, clients: watching.slice(0, SERVICE_CLIENTS_SHOWN).map(clientJson), total: watching.length };
      },
    },
    {
      method: "GET",
      url: "/v1/services/:service/dns",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const { name, entry } = knownService(request, deps.registry);
        const zone = createZone({ domain: deps.dnsDomain ?? DEFAULT_DNS_DOMAIN, ttlSeconds: 0 });
        return { service: name, domain: zone.domain, names: serviceNames(entry, zone) };
      },
    },
    {
      method: "GET",
      url: "/v1/services/:service/checks",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const { name } = knownService(request, deps.registry);
        const checks: Record<string, { at: string; ok: boolean; detail: string; kind: string }> = {};
        for (const [id, check] of deps.checks?.lastChecks(name) ?? []) checks[id] = { at: iso(check.at), ok: check.ok, detail: check.detail, kind: check.kind };
        return { service: name, checks };
      },
    },
  ];
}

/**
 * True when a client's subscriptions name the service: a resource named
 * after it (`greeter`, `greeter/v2`) of any type, or a wildcard CDS or LDS
 * subscription (which gets every service). Only the names the status keeps
 * (STATUS_NAMES_SHOWN per type) are looked at.
 */
export function watches(client: ClientStatus, service: string): boolean {
  const prefix = `${service}/`;
  for (const [type, status] of Object.entries(client.types)) {
    for (const name of status.subscribed) {
      if (name === service || name.startsWith(prefix)) return true;
      if (name === "*" && (type === "CDS" || type === "LDS")) return true;
    }
  }
  return false;
}

function clientJson(client: ClientStatus) {
  const types: Record<string, { ackedVersion: string; ackedGeneration?: number }> = {};
  for (const [type, status] of Object.entries(client.types)) {
    types[type] = { ackedVersion: status.ackedVersion, ...(status.ackedGeneration !== undefined && { ackedGeneration: status.ackedGeneration }) };
  }
  return { streamId: client.streamId, nodeId: client.nodeId, protocol: client.protocol, userAgent: client.userAgent, types };
}
