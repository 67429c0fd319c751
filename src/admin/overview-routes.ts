import { NotFoundError } from "../errors/index.js";
import type { EventHub } from "../events/index.js";
import type { GenerationControl } from "../guard/index.js";
import type { Registry } from "../registry/index.js";
import { iso, needEvents, noQuery } from "./console-params.js";
import { generationId } from "./generation-routes.js";
import type { RouteSpec } from "./routes.js";

export interface OverviewDeps {
  readonly registry: Pick<Registry, "view">;
  readonly generations: GenerationControl;
  readonly events?: EventHub | undefined;
  /** Services whose configuration does not build (the spine); 0 without it. */
  readonly builds?: { failures?(): readonly unknown[] } | undefined;
}

/**
 * The console's front page and its ACK chart: `GET /v1/overview`, whose
 * counts the event hub keeps from change events (no walk of the registry per
 * request: it costs the generations kept, not the services), and
 * `GET /v1/generations/{id}/acks`, the first ACK of each stream for a
 * generation (the newest ACK_BOOKS generations; older ones are `expired`).
 */
export function createOverviewRoutes(deps: OverviewDeps): readonly RouteSpec[] {
  return [
    {
      method: "GET",
      url: "/v1/overview",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const events = needEvents(deps.events);
        const { services, instances } = events.totals();
        const all = deps.generations.list();
        const newest = all.at(-1);
        const held = all.filter((g) => g.status === "held" && g.supersededBy === undefined).map((g) => ({ id: g.id, reason: g.reason }));
        return {
          revision: deps.registry.view().revision,
          services,
          instances,
          clients: events.clientCounts(),
          nacksLastHour: events.nacksLastHour(),
          newestGeneration: newest ? { id: newest.id, status: newest.status, createdAt: newest.createdAt, reason: newest.reason } : null,
          held,
          buildFailures: deps.builds?.failures?.().length ?? 0,
        };
      },
    },
    {
      method: "GET",
      url: "/v1/generations/:id/acks",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        const id = generationId(request);
        const events = needEvents(deps.events);
        if (!deps.generations.get(id)) throw new NotFoundError(`generation ${id} not found`);
        const clients = events.clientCounts().connected;
        const book = events.acks(id);
        if (book === "expired") return { generation: id, pushedAt: null, acked: 0, clients, acks: [], expired: true };
        const pushedAt = book?.pushedAt;
        const acks = [...(book?.acks.values() ?? [])].map((a) => ({
          streamId: a.streamId,
          nodeId: a.nodeId,
          at: iso(a.at),
          ms: pushedAt === undefined ? null : Math.max(0, a.at - pushedAt),
          initial: a.initial,
        }));
        return { generation: id, pushedAt: pushedAt === undefined ? null : iso(pushedAt), acked: acks.length, clients, acks };
      },
    },
  ];
}
