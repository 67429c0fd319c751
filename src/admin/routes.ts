import type { FastifyReply, FastifyRequest } from "fastify";
import type { RouteScope } from "./auth-check.js";
import { NotFoundError, ValidationError, show } from "../errors/index.js";
import { pageOfClients, parseClientsQuery } from "./clients-page.js";
import { matchedServices, parseServicesQuery, servicesPage } from "./services-page.js";
import type { EventHub, HealthCounts } from "../events/index.js";
import type { GenerationControl } from "../guard/index.js";
import type { HealthMonitor } from "../health/index.js";
import type { Metrics } from "../metrics/index.js";
import type { HealthCheck, Instance, IntentionAction, MtlsMode, ServiceEntry } from "../registry/index.js";
import type { Liveness, Registry } from "../registry/index.js";
import type { FailingService } from "../snapshot/index.js";
import type { ClientStatus } from "../xds/index.js";

/** What the routes read and write; injected so tests can pass fakes. */
export interface RouteDeps {
  readonly registry: Registry;
  readonly clients: { list(): readonly ClientStatus[] };
  readonly metrics: Metrics;
  /** The push guard's generations: `/v1/generations` reads and acts through it. */
  readonly generations: GenerationControl;
  /** Services whose configuration does not build (the spine); without it no service shows a `build` field. */
  readonly builds?: { failure(service: string): FailingService | undefined; failures?(): readonly FailingService[] } | undefined;
  /** TTL heartbeats go to the health monitor; without one, the heartbeat route answers 404 and says so. */
  readonly heartbeats?: Pick<HealthMonitor, "heartbeat"> | undefined;
  /** Heartbeats shared by every replica (etcd): each accepted heartbeat is written through to it, and one it cannot take answers 503. */
  readonly liveness?: Liveness | undefined;
  /**
   * The web console's data and live events (src/events): the counts behind
   * `view=summary`, /v1/overview, histories, ACK books and /v1/events.
   * Without it the summary counts each page's instances, and the routes
   * that need it answer 404 and say so.
   */
  readonly events?: EventHub | undefined;
}

/** The 404 of the heartbeat route on a server without a health monitor. */
export const HEARTBEATS_OFF_MESSAGE = "this server runs no health monitor, so it takes no heartbeats";

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** One admin API route; the table below is the whole API (README, "Admin HTTP API"). */
export interface RouteSpec {
  readonly method: Method;
  /** fastify pattern, e.g. `/v1/services/:service`. */
  readonly url: string;
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The token scope the route needs (auth-check.ts); required, so a route cannot be added without deciding it. */
  readonly scope: RouteScope;
  /**
   * The route takes no body. An empty body is accepted whatever its
   * content-type (`curl -X POST -H 'content-type: application/json'`,
   * `curl -d ''`), so the handler sees `undefined`; a non-empty one must
   * still be JSON.
   */
  readonly bodyless?: boolean;
}

/**
 * A service as the API shows it: its fields plus its instances, sorted by
 * id, and `build` only while its configuration does not build (its xDS
 * clients then keep the resources of `build.servedRevision`, or get none).
 */
export interface ServiceJson {
  readonly name: string;
  readonly protocol: string;
  readonly lbPolicy: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Only when the service has one. */
  readonly healthCheck?: HealthCheck;
  /** `off` for records without one. */
  readonly mtls: MtlsMode;
  /** Only when the service is the destination of any intention. */
  readonly intentions?: Readonly<Record<string, IntentionAction>>;
  readonly instances: readonly Instance[];
  readonly build?: ServiceBuildJson;
}

/** FailingService without the name the service already carries. */
export type ServiceBuildJson = Omit<FailingService, "service">;

export function serviceJson(entry: ServiceEntry, failure?: FailingService): ServiceJson {
  const { name, protocol, lbPolicy, metadata, healthCheck, mtls, intentions } = entry.service;
  const instances = [...entry.instances.values()].sort((a, b) => compare(a.id, b.id));
  const build = failure && buildJson(failure);
  return { name, protocol, lbPolicy, metadata, ...(healthCheck && { healthCheck }), mtls: mtls ?? "off", ...(intentions && { intentions }), instances, ...(build && { build }) };
}

/** One service of `GET /v1/services?view=summary`: the console's list row. */
export interface ServiceSummary {
  readonly name: string;
  readonly instances: Readonly<HealthCounts>;
  readonly policy: boolean;
  readonly mtls: MtlsMode;
}

/** The hub's counts when it has them (kept from change events), else one pass over the service's instances. */
export function serviceSummary(entry: ServiceEntry, events: Pick<EventHub, "serviceCounts"> | undefined): ServiceSummary {
  const { name, policy, mtls } = entry.service;
  return { name, instances: events?.serviceCounts(name) ?? countInstances(entry), policy: policy !== undefined, mtls: mtls ?? "off" };
}

function countInstances(entry: ServiceEntry): HealthCounts {
  const counts: HealthCounts = { healthy: 0, unhealthy: 0, unknown: 0, draining: 0, total: 0 };
  for (const instance of entry.instances.values()) {
    counts[instance.health]++;
    counts.total++;
  }
  return counts;
}

function buildJson({ service: _service, ...rest }: FailingService): ServiceBuildJson {
  return rest;
}

export function createRoutes(deps: RouteDeps): readonly RouteSpec[] {
  const { registry } = deps;
  const jsonOf = (entry: ServiceEntry) => serviceJson(entry, deps.builds?.failure(entry.service.name));
  return [
    {
      method: "GET",
      url: "/v1/services",
      scope: "read",
      handler: async (request) => {
        const query = parseServicesQuery(request.query);
        // One view per page: its revision matches the page; pages may come from different revisions.
        const view = registry.view();
        if (query.view === "summary") {
          const page = servicesPage(view, query, (entry) => serviceSummary(entry, deps.events));
          return { revision: view.revision, services: page.services, ...(page.next !== undefined && { next: page.next }), matched: matchedServices(view, query.q) };
        }
        const page = servicesPage(view, query, jsonOf);
        return { revision: view.revision, services: page.services, ...(page.next !== undefined && { next: page.next }) };
      },
    },
    {
      method: "GET",
      url: "/v1/services/:service",
      scope: "read",
      handler: async (request) => {
        const name = param(request, "service");
        // Read from one view so the revision matches the data shown.
        const view = registry.view();
        const entry = view.services.get(name);
        if (!entry) throw new NotFoundError(`service "${name}" not found`);
        return { revision: view.revision, service: jsonOf(entry) };
      },
    },
    {
      method: "PUT",
      url: "/v1/services/:service",
      scope: "write",
      handler: async (request, reply) => {
        // No body at all (e.g. `curl -X PUT`) means "all defaults".
        const result = await registry.putService(param(request, "service"), request.body ?? {});
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, service: result.value });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service",
      scope: "write",
      handler: async (request) => registry.deleteService(param(request, "service")),
    },
    {
      // Applied by the registry inside one commit: no read-modify-write in the client.
      method: "PUT",
      url: "/v1/services/:service/intentions/:source",
      scope: "write",
      handler: async (request, reply) => {
        const result = await registry.putIntention(param(request, "service"), param(request, "source"), request.body ?? {});
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, service: result.value });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service/intentions/:source",
      scope: "write",
      handler: async (request) => {
        const result = await registry.deleteIntention(param(request, "service"), param(request, "source"));
        return { revision: result.revision, service: result.value };
      },
    },
    {
      method: "PUT",
      url: "/v1/services/:service/instances/:id",
      scope: "write",
      handler: async (request, reply) => {
        const result = await registry.putInstance(param(request, "service"), param(request, "id"), request.body ?? {});
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, instance: result.value });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service/instances/:id",
      scope: "write",
      handler: async (request) => registry.deleteInstance(param(request, "service"), param(request, "id")),
    },
    {
      // Renews a TTL in the monitor's memory and, on etcd, as a leased key: neither makes a registry revision.
      method: "PUT",
      url: "/v1/services/:service/instances/:id/heartbeat",
      scope: "write",
      bodyless: true,
      handler: async (request) => {
        const service = param(request, "service");
        const id = param(request, "id");
        requireNoFields(request.body, "a heartbeat");
        if (!deps.heartbeats) throw new NotFoundError(HEARTBEATS_OFF_MESSAGE);
        // The shared beat first, so a 503 leaves nothing half-applied; the monitor reports unknown names and missing ttlMs.
        const ttlMs = registry.view().services.get(service)?.instances.get(id)?.ttlMs;
        if (deps.liveness && ttlMs !== undefined) await deps.liveness.beat(service, id, ttlMs);
        return deps.heartbeats.heartbeat(service, id);
      },
    },
    {
      method: "GET",
      url: "/v1/clients",
      scope: "read",
      handler: async (request) => pageOfClients(deps.clients.list(), parseClientsQuery(request.query)),
    },
    {
      method: "GET",
      url: "/healthz",
      scope: "open",
      handler: async () => ({ status: "ok", revision: registry.view().revision }),
    },
    {
      method: "GET",
      url: "/metrics",
      scope: "read",
      handler: async (_request, reply) => {
        // Set at scrape time so the gauge is right whoever else updates it.
        deps.metrics.registryRevision.set(registry.view().revision);
        const text = await deps.metrics.registry.metrics();
        return reply.type(deps.metrics.registry.contentType).send(text);
      },
    },
  ];
}

/**
 * The methods the table allows on a concrete path (HEAD comes with GET), or
 * an empty list when no route has that path; used to answer 405 vs 404.
 */
export function allowedMethods(routes: readonly RouteSpec[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (!patternOf(route.url).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods];
}

function patternOf(url: string): RegExp {
  const source = url
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : escapeRegExp(part)))
    .join("/");
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** For routes with nothing to say in a body: anything but none or `{}` is refused rather than ignored. */
export function requireNoFields(body: unknown, what: string): void {
  const empty = body === undefined || (typeof body === "object" && body !== null && !Array.isArray(body) && Object.keys(body).length === 0);
  if (!empty) throw new ValidationError([{ path: "body", message: `${what} takes no fields; send no body or {}, got ${show(body)}` }]);
}

export function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
