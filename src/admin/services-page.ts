import { SortedMap } from "../collections/index.js";
import { ValidationError, oneOf, show, type Issue } from "../errors/index.js";
import type { RegistryView, ServiceEntry } from "../registry/index.js";
import { parsePageQuery, single } from "./query-params.js";
import { SERVICES_PAGE_CHARS, SERVICES_PAGE_DEFAULT, SERVICES_PAGE_MAX } from "./services-page-limits.js";

/** How `GET /v1/services` shows each service: whole (`full`, the default) or counted (`summary`, the console's list). */
export const SERVICE_VIEWS = ["full", "summary"] as const;
export type ServiceViewKind = (typeof SERVICE_VIEWS)[number];

/** What `GET /v1/services` accepts in its query string; all optional. */
export interface ServicesQuery {
  readonly limit: number;
  /** A service name: the page starts after it (the `next` of the previous page). */
  readonly after?: string;
  /** Only services whose name contains this; "" or absent: all. */
  readonly q?: string;
  /** `full` when absent. */
  readonly view?: ServiceViewKind;
}

/** A service name: a DNS label. */
export const SERVICE_NAME = /^[a-z0-9-]{1,63}$/;
const SEARCH_TEXT = /^[a-z0-9-]{0,63}$/;

/**
 * One page of `view.services` in name order (only names containing
 * `query.q`), each service as `render` shows it, and the name to continue
 * after when more follow. A page holds at most `query.limit` services and
 * stops early once they take SERVICES_PAGE_CHARS of JSON (it always holds
 * one). The registry's view is a SortedMap, so without `q` a page costs its
 * own size (a seek to `after`, then its steps), not the registry's; with
 * `q` it costs the names it skips.
 */
export function servicesPage<T>(view: RegistryView, query: ServicesQuery, render: (entry: ServiceEntry) => T): { services: T[]; next?: string } {
  const services = SortedMap.from(view.services);
  const shown: T[] = [];
  let chars = 0;
  let last: string | undefined;
  const q = query.q ?? "";
  const from = query.after === undefined ? services.entries() : services.entriesFrom(query.after, true);
  for (const [name, entry] of from) {
    if (q !== "" && !name.includes(q)) continue;
    if (shown.length === query.limit || (shown.length > 0 && chars >= SERVICES_PAGE_CHARS)) return { services: shown, next: last! };
    const json = render(entry);
    chars += JSON.stringify(json).length;
    shown.push(json);
    last = name;
  }
  return { services: shown };
}

/** How many services of `view` match `q`: the registry's size without one, a pass over the names with one. */
export function matchedServices(view: RegistryView, q: string | undefined): number {
  if (q === undefined || q === "") return view.services.size;
  let n = 0;
  for (const name of view.services.keys()) if (name.includes(q)) n++;
  return n;
}

/** Validates the whole query string at once; ValidationError names every bad parameter and what is allowed. */
export function parseServicesQuery(query: unknown): ServicesQuery {
  const raw = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const issues: Issue[] = [];
  const q = single(raw, "q", issues);
  const view = single(raw, "view", issues);
  if (q !== undefined && !SEARCH_TEXT.test(q)) issues.push({ path: "q", message: `must be part of a service name: up to 63 of a-z, 0-9 and -, got ${show(q)}` });
  if (view !== undefined && !(SERVICE_VIEWS as readonly string[]).includes(view)) issues.push({ path: "view", message: `must be ${oneOf(SERVICE_VIEWS)}, got ${show(view)}` });
  let page: { limit: number; after?: string } | undefined;
  try {
    page = parsePageQuery(raw, { defaultLimit: SERVICES_PAGE_DEFAULT, maxLimit: SERVICES_PAGE_MAX, after: SERVICE_NAME, afterIs: "a service name", extra: ["q", "view"] });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.unshift(...err.issues);
  }
  if (issues.length > 0 || !page) throw new ValidationError(issues);
  return { ...page, ...(q !== undefined && { q }), ...(view !== undefined && { view: view as ServiceViewKind }) };
}
