import { SortedMap } from "../collections/index.js";
import type { RegistryView, ServiceEntry } from "../registry/index.js";
import { parsePageQuery } from "./query-params.js";
import { SERVICES_PAGE_CHARS, SERVICES_PAGE_DEFAULT, SERVICES_PAGE_MAX } from "./services-page-limits.js";

/** What `GET /v1/services` accepts in its query string; both optional. */
export interface ServicesQuery {
  readonly limit: number;
  /** A service name: the page starts after it (the `next` of the previous page). */
  readonly after?: string;
}

const SERVICE_NAME = /^[a-z0-9-]{1,63}$/;

/**
 * One page of `view.services` in name order, each service as `render` shows
 * it, and the name to continue after when more follow. A page holds at most
 * `query.limit` services and stops early once they take SERVICES_PAGE_CHARS
 * of JSON (it always holds one). The registry's view is a SortedMap, so a
 * page costs its own size (a seek to `after`, then its steps), not the
 * registry's.
 */
export function servicesPage<T>(view: RegistryView, query: ServicesQuery, render: (entry: ServiceEntry) => T): { services: T[]; next?: string } {
  const services = SortedMap.from(view.services);
  const shown: T[] = [];
  let chars = 0;
  let last: string | undefined;
  const from = query.after === undefined ? services.entries() : services.entriesFrom(query.after, true);
  for (const [name, entry] of from) {
    if (shown.length === query.limit || (shown.length > 0 && chars >= SERVICES_PAGE_CHARS)) return { services: shown, next: last! };
    const json = render(entry);
    chars += JSON.stringify(json).length;
    shown.push(json);
    last = name;
  }
  return { services: shown };
}

/** Validates the whole query string at once; ValidationError names every bad parameter and what is allowed. */
export function parseServicesQuery(query: unknown): ServicesQuery {
  return parsePageQuery(query, { defaultLimit: SERVICES_PAGE_DEFAULT, maxLimit: SERVICES_PAGE_MAX, after: SERVICE_NAME, afterIs: "a service name" });
}
