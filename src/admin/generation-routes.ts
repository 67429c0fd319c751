import type { FastifyRequest } from "fastify";
import { single } from "./query-params.js";
import { NotFoundError, ValidationError, oneOf, show, type Issue } from "../errors/index.js";
import { GENERATION_STATUSES, type Generation, type GenerationControl, type GenerationStatus } from "../guard/index.js";
import { param, requireNoFields, type RouteSpec } from "./routes.js";

/** The most generations one `GET /v1/generations?limit=N` may ask for. */
export const MAX_GENERATIONS_LIMIT = 1000;

/** What `GET /v1/generations` accepts in its query string; both optional. */
export interface GenerationQuery {
  readonly status?: GenerationStatus;
  /** Keep only the newest N (after the status filter). */
  readonly limit?: number;
}

const QUERY_PARAMETERS = ["status", "limit"];

/**
 * `/v1/generations` (README, "Admin HTTP API"): the push guard's audit
 * trail, and approve/rollback. Answers are the guard's Generation objects as
 * they are. Bad ids and queries are 400 here; the guard's own NotFoundError,
 * ConflictError and UnavailableError map to 404, 409 and 503 at the edge.
 * approve and rollback take no body: none, an empty one (whatever its
 * content-type) or `{}`.
 */
export function createGenerationRoutes(generations: GenerationControl): readonly RouteSpec[] {
  return [
    {
      method: "GET",
      url: "/v1/generations",
      handler: async (request) => ({ generations: selectGenerations(generations.list(), parseGenerationQuery(request.query)) }),
    },
    {
      method: "GET",
      url: "/v1/generations/:id",
      handler: async (request) => {
        const id = generationId(request);
        const generation = generations.get(id);
        if (!generation) throw new NotFoundError(`generation ${id} not found`);
        return generation;
      },
    },
    {
      method: "POST",
      url: "/v1/generations/:id/approve",
      bodyless: true,
      handler: async (request) => {
        const id = generationId(request);
        requireNoFields(request.body, "approve");
        return generations.approve(id);
      },
    },
    {
      method: "POST",
      url: "/v1/generations/:id/rollback",
      bodyless: true,
      handler: async (request) => {
        const id = generationId(request);
        requireNoFields(request.body, "rollback");
        return generations.rollback(id);
      },
    },
  ];
}

/** `list` is ascending by id, so the newest N are its tail. */
export function selectGenerations(all: readonly Generation[], query: GenerationQuery): readonly Generation[] {
  const matching = query.status === undefined ? all : all.filter((g) => g.status === query.status);
  return query.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - query.limit));
}

/** Validates the whole query string at once; ValidationError names every bad parameter and what is allowed. */
export function parseGenerationQuery(query: unknown): GenerationQuery {
  const raw = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const issues: Issue[] = [];
  for (const key of Object.keys(raw)) {
    if (!QUERY_PARAMETERS.includes(key)) issues.push({ path: key, message: `unknown query parameter; allowed are ${QUERY_PARAMETERS.join(" and ")}` });
  }
  const status = single(raw, "status", issues);
  const limit = single(raw, "limit", issues);
  const result: { status?: GenerationStatus; limit?: number } = {};
  if (status !== undefined) {
    if (isStatus(status)) result.status = status;
    else issues.push({ path: "status", message: `must be ${oneOf(GENERATION_STATUSES)}, got ${show(status)}` });
  }
  if (limit !== undefined) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : Number.NaN;
    if (n >= 1 && n <= MAX_GENERATIONS_LIMIT) result.limit = n;
    else issues.push({ path: "limit", message: `must be an integer from 1 to ${MAX_GENERATIONS_LIMIT}, got ${show(limit)}` });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return result;
}

function isStatus(value: string): value is GenerationStatus {
  return (GENERATION_STATUSES as readonly string[]).includes(value);
}

/** The `:id` path parameter: a positive integer, checked before the guard is asked. */
function generationId(request: FastifyRequest): number {
  const text = param(request, "id");
  const id = /^[1-9]\d*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new ValidationError([{ path: "id", message: `must be a positive integer generation id, got ${show(text)}` }]);
  }
  return id;
}
