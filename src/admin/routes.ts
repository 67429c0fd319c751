import type { FastifyReply, FastifyRequest } from "fastify";
import { NotFoundError } from "../errors/index.js";
import type { GenerationControl } from "../guard/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Instance, ServiceEntry } from "../registry/index.js";
import type { Registry } from "../registry/index.js";
import type { ClientStatus } from "../xds/index.js";

/** What the routes read and write; injected so tests can pass fakes. */
export interface RouteDeps {
  readonly registry: Registry;
  readonly clients: { list(): readonly ClientStatus[] };
  readonly metrics: Metrics;
  /** The push guard's generations: `/v1/generations` reads and acts through it. */
  readonly generations: GenerationControl;
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** One admin API route; the table below is the whole API (DESIGN.md, "Admin HTTP API"). */
export interface RouteSpec {
  readonly method: Method;
  /** fastify pattern, e.g. `/v1/services/:service`. */
  readonly url: string;
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /**
   * The route takes no body. An empty body is accepted whatever its
   * content-type (`curl -X POST -H 'content-type: application/json'`,
   * `curl -d ''`), so the handler sees `undefined`; a non-empty one must
   * still be JSON.
   */
  readonly bodyless?: boolean;
}

/** A service as the API shows it: its fields plus its instances, sorted by id. */
export interface ServiceJson {
  readonly name: string;
  readonly protocol: string;
  readonly lbPolicy: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly instances: readonly Instance[];
}

export function serviceJson(entry: ServiceEntry): ServiceJson {
  const { name, protocol, lbPolicy, metadata } = entry.service;
  const instances = [...entry.instances.values()].sort((a, b) => compare(a.id, b.id));
  return { name, protocol, lbPolicy, metadata, instances };
}

export function createRoutes(deps: RouteDeps): readonly RouteSpec[] {
  const { registry } = deps;
  return [
    {
      method: "GET",
      url: "/v1/services",
      handler: async () => {
        const view = registry.view();
        const names = [...view.services.keys()].sort(compare);
        return { revision: view.revision, services: names.map((name) => serviceJson(view.services.get(name)!)) };
      },
    },
    {
      method: "GET",
      url: "/v1/services/:service",
      handler: async (request) => {
        const name = param(request, "service");
        // Read from one view so the revision matches the data shown.
        const view = registry.view();
        const entry = view.services.get(name);
        if (!entry) throw new NotFoundError(`service "${name}" not found`);
        return { revision: view.revision, service: serviceJson(entry) };
      },
    },
    {
      method: "PUT",
      url: "/v1/services/:service",
      handler: async (request, reply) => {
        // No body at all (e.g. `curl -X PUT`) means "all defaults".
        const result = await registry.putService(param(request, "service"), request.body ?? {});
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, service: result.value });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service",
      handler: async (request) => registry.deleteService(param(request, "service")),
    },
    {
      method: "PUT",
      url: "/v1/services/:service/instances/:id",
      handler: async (request, reply) => {
        const result = await registry.putInstance(param(request, "service"), param(request, "id"), request.body ?? {});
        return reply.code(result.created ? 201 : 200).send({ revision: result.revision, instance: result.value });
      },
    },
    {
      method: "DELETE",
      url: "/v1/services/:service/instances/:id",
      handler: async (request) => registry.deleteInstance(param(request, "service"), param(request, "id")),
    },
    {
      method: "GET",
      url: "/v1/clients",
      handler: async () => ({ clients: deps.clients.list() }),
    },
    {
      method: "GET",
      url: "/healthz",
      handler: async () => ({ status: "ok", revision: registry.view().revision }),
    },
    {
      method: "GET",
      url: "/metrics",
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
  const source = url.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : escapeRegExp(part))).join("/");
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
