import type { ClientsPage, ServiceJson } from "../admin/index.js";
// The module itself, not the admin index: at run time the CLI needs only this constant.
import { CLIENTS_PAGE_MAX } from "../admin/clients-page-limits.js";
// model.ts, not the guard index: it holds only types and constants, so the CLI does not load the guard.
import type { Generation, GenerationStatus } from "../guard/model.js";
import type { ClientStatus } from "../xds/index.js";
import type { AdminClient } from "./admin-client.js";

/** What one page of a paged read carries: its items and, while more follow, the cursor of the next page. */
interface Page<T, C> {
  readonly items: readonly T[];
  readonly next?: C | undefined;
}

/**
 * Every item of a paged admin read (`after`, then each page's `next`; README
 * "Admin HTTP API"). A cursor that does not move on, or an empty page that
 * still says `next`, ends the walk, so a misbehaving server cannot keep the
 * command looping.
 */
async function followPages<T, C extends string | number>(fetchPage: (after: C | undefined) => Promise<Page<T, C>>): Promise<T[]> {
  const items: T[] = [];
  let after: C | undefined;
  for (;;) {
    const page = await fetchPage(after);
    items.push(...page.items);
    if (page.next === undefined || page.next === after || page.items.length === 0) return items;
    after = page.next;
  }
}

function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  return params.size === 0 ? path : `${path}?${params.toString()}`;
}

/** Every registered service in name order (pages of the server's default size); `revision` is the last page's. */
export async function allServices(admin: AdminClient): Promise<{ revision: number; services: ServiceJson[] }> {
  let revision = 0;
  const services = await followPages<ServiceJson, string>(async (after) => {
    const page = await admin.request<{ revision: number; services: ServiceJson[]; next?: string }>("GET", withQuery("/v1/services", { after }));
    revision = page.revision;
    return { items: page.services, next: page.next };
  });
  return { revision, services };
}

/** Every generation the push guard keeps (only those with `status` when given), oldest first, a page at a time. */
export async function allGenerations(admin: AdminClient, status?: GenerationStatus): Promise<Generation[]> {
  return followPages<Generation, number>(async (after) => {
    const page = await admin.request<{ generations: Generation[]; next?: number }>("GET", withQuery("/v1/generations", { status, after: after ?? 0 }));
    return { items: page.generations, next: page.next };
  });
}

/** Every connected xDS client, oldest stream first. */
export async function allClients(admin: AdminClient): Promise<ClientStatus[]> {
  return followPages<ClientStatus, string>(async (after) => {
    const page = await admin.request<ClientsPage>("GET", withQuery("/v1/clients", { limit: CLIENTS_PAGE_MAX, after }));
    return { items: page.clients, next: page.next };
  });
}
