import type { FastifyRequest } from "fastify";
import { NotFoundError, ValidationError, show } from "../errors/index.js";
import type { EventHub } from "../events/index.js";
import { clip } from "../log/index.js";
import type { Registry, ServiceEntry } from "../registry/index.js";
import { param } from "./routes.js";

/** The 404 of a console route on a server that keeps no console data (an admin server built without `events`). */
export const EVENTS_OFF_MESSAGE = "this server keeps no console data (the admin API was started without its event hub)";

const SERVICE_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The hub, or 404 saying there is none. */
export function needEvents(events: EventHub | undefined): EventHub {
  if (!events) throw new NotFoundError(EVENTS_OFF_MESSAGE);
  return events;
}

/** The `:service` parameter: 400 unless a DNS label, 404 unless the registry has it. */
export function knownService(request: FastifyRequest, registry: Pick<Registry, "view">): { name: string; entry: ServiceEntry } {
  const name = param(request, "service");
  if (!SERVICE_LABEL.test(name)) throw new ValidationError([{ path: "service", message: `must be a service name (a DNS label: 1-63 of a-z, 0-9 and -, no leading or trailing -), got ${show(clip(name, 80))}` }]);
  const entry = registry.view().services.get(name);
  if (!entry) throw new NotFoundError(`service "${name}" not found`);
  return { name, entry };
}

/** Routes that take no query parameters say so rather than ignore one. */
export function noQuery(query: unknown): void {
  const keys = typeof query === "object" && query !== null ? Object.keys(query) : [];
  if (keys.length > 0) throw new ValidationError(keys.slice(0, 5).map((key) => ({ path: clip(key, 64), message: "unknown query parameter; this route takes none" })));
}

/** Clock ms as ISO 8601. */
export const iso = (ms: number): string => new Date(ms).toISOString();
