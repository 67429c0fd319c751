import type { FastifyRequest } from "fastify";
import { single } from "./query-params.js";
import { NotFoundError, ValidationError, oneOf, show, type Issue } from "../errors/index.js";
import { GENERATION_STATUSES, type Generation, type GenerationControl, type GenerationStatus } from "../guard/index.js";
import { param, requireNoFields, type RouteSpec } from "./routes.js";

/** The most generations one `GET /v1/generations?limit=N` may ask for. */
export const MAX_GENERATIONS_LIMIT = 1000;

/** Generations a page holds when `after` is given without `limit`. */
export const GENERATIONS_PAGE_DEFAULT = 200;
/**
 * A page (with `after`) also stops once its generations take this many
 * characters of JSON (it always holds one): the diff of a generation that
 * adds a large registry names every resource.
 */
export const GENERATIONS_PAGE_CHARS = 1024 * 1024;

/** What `GET /v1/generations` accepts in its query string; all optional. */
export interface GenerationQuery {
  readonly status?: GenerationStatus;
  /** Without `after`: only the newest N (after the status filter). With it: the page size. */
  readonly limit?: number;
  /** Paging, oldest first: the generations with a higher id (the `next` of the previous page; 0 for the first page). */
  readonly after?: number;
}

/** One answer of `GET /v1/generations`; `next` is there when a page was asked for (`after`) and more follow. */
export interface GenerationsAnswer {
  readonly generations: readonly Generation[];
  readonly next?: number;
}

const QUERY_PARAMETERS = ["status", "limit", "after"];

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
      scope: "read",
      handler: async (request): Promise<GenerationsAnswer> => selectGenerations(generations.list(), parseGenerationQuery(request.query)),
    },
    {
      method: "GET",
      url: "/v1/generations/:id",
      scope: "read",
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
      scope: "operator",
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
      scope: "operator",
      bodyless: true,
      handler: async (request) => {
        const id = generationId(request);
        requireNoFields(request.body, "rollback");
        return generations.rollback(id);
      },
    },
  ];
}

/**
 * Without `after`: every generation, or the newest `limit` (`list` is
 * ascending by id, so they are its tail). With `after`: a page, oldest first,
 * of at most `limit` and about GENERATIONS_PAGE_CHARS, with `next` while more
 * follow.
 */
export function selectGenerations(all: readonly Generation[], query: GenerationQuery): GenerationsAnswer {
  const matching = query.status === undefined ? all : all.filter((g) => g.status === query.status);
  if (query.after === undefined) return { generations: query.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - query.limit)) };
  const after = query.after;
  const limit = query.limit ?? GENERATIONS_PAGE_DEFAULT;
  const page: Generation[] = [];
  let chars = 0;
  for (const generation of matching) {
    if (generation.id <= after) continue;
    if (page.length === limit || (page.length > 0 && chars >= GENERATIONS_PAGE_CHARS)) return { generations: page, next: page[page.length - 1]!.id };
    chars += JSON.stringify(generation).length;
    page.push(generation);
  }
  return { generations: page };
}

/** Validates the whole query string at once; ValidationError names every bad parameter and what is allowed. */
export function parseGenerationQuery(query: unknown): GenerationQuery {
  const raw = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const issues: Issue[] = [];
  for (const key of Object.keys(raw)) {
    if (!QUERY_PARAMETERS.includes(key)) issues.push({ path: key, message: `unknown query parameter; allowed are ${QUERY_PARAMETERS.join(", ")}` });
  }
  const status = single(raw, "status", issues);
  const limit = single(raw, "limit", issues);
  const after = single(raw, "after", issues);
  const result: { status?: GenerationStatus; limit?: number; after?: number } = {};
  if (after !== undefined) {
    const n = /^\d{1,15}$/.test(after) ? Number(after) : Number.NaN;
    if (Number.isSafeInteger(n)) result.after = n;
    else issues.push({ path: "after", message: `must be a generation id, 0 or more (the next of the previous page), got ${show(after)}` });
  }
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
export function generationId(request: FastifyRequest): number {
  const text = param(request, "id");
  const id = /^[1-9]\d*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new ValidationError([{ path: "id", message: `must be a positive integer generation id, got ${show(text)}` }]);
  }
  return id;
}
