import { parsePageQuery } from "./query-params.js";
import { boundedClientStatus, type ClientStatus } from "../xds/index.js";
import { CLIENTS_PAGE_CHARS, CLIENTS_PAGE_DEFAULT, CLIENTS_PAGE_MAX } from "./clients-page-limits.js";

export { CLIENTS_PAGE_CHARS, CLIENTS_PAGE_DEFAULT, CLIENTS_PAGE_MAX };

/** What `GET /v1/clients` accepts in its query string; both optional. */
export interface ClientsQuery {
  readonly limit: number;
  /** A stream id: the page starts after it (the `next` of the previous page). */
  readonly after?: string;
}

/** One page of `GET /v1/clients`. */
export interface ClientsPage {
  /** Ordered by stream id, oldest stream first; each as boundedClientStatus shows it. */
  readonly clients: readonly ClientStatus[];
  /** Connected clients in all. */
  readonly total: number;
  /** Present when more clients follow: pass it as `after` for the next page. */
  readonly next?: string;
}

const STREAM_ID = /^s(\d{1,15})$/;

/**
 * The page of `all` that `query` asks for. Streams are numbered as they open
 * (`s1`, `s2`, …), so a cursor stays valid while streams come and go: the
 * next page starts with the first stream opened after the cursor's, whether
 * or not that one is still connected.
 */
export function pageOfClients(all: readonly ClientStatus[], query: ClientsQuery): ClientsPage {
  const after = query.after === undefined ? -1 : streamNumber(query.after);
  const sorted = all.filter((c) => streamNumber(c.streamId) > after).sort((a, b) => streamNumber(a.streamId) - streamNumber(b.streamId) || compare(a.streamId, b.streamId));
  const clients: ClientStatus[] = [];
  let chars = 0;
  for (const client of sorted) {
    if (clients.length === query.limit || (clients.length > 0 && chars >= CLIENTS_PAGE_CHARS)) break;
    const shown = boundedClientStatus(client);
    chars += JSON.stringify(shown).length;
    clients.push(shown);
  }
  const more = clients.length < sorted.length;
  return { clients, total: all.length, ...(more && { next: clients[clients.length - 1]!.streamId }) };
}

/** Validates the whole query string at once; ValidationError names every bad parameter and what is allowed. */
export function parseClientsQuery(query: unknown): ClientsQuery {
  return parsePageQuery(query, { defaultLimit: CLIENTS_PAGE_DEFAULT, maxLimit: CLIENTS_PAGE_MAX, after: STREAM_ID, afterIs: "a stream id such as s42" });
}

/** The number in a stream id `sN`; ids of another form (test fakes) sort after every numbered one. */
function streamNumber(id: string): number {
  const match = STREAM_ID.exec(id);
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
