/**
 * The paged reads of the admin API: `GET /v1/services` and
 * `GET /v1/generations` (`?limit=&after=`, `next` while more follow; generations page only with `after`), as
 * page functions and, for services, over real HTTP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { GENERATIONS_PAGE_CHARS, GENERATIONS_PAGE_DEFAULT, parseGenerationQuery, selectGenerations, type GenerationQuery } from "../../src/admin/generation-routes.js";
import { SERVICES_PAGE_CHARS, SERVICES_PAGE_DEFAULT } from "../../src/admin/services-page-limits.js";
import { parseServicesQuery, servicesPage, type ServicesQuery } from "../../src/admin/services-page.js";
import type { ValidationError } from "../../src/errors/index.js";
import type { Generation } from "../../src/guard/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry, type RegistryView } from "../../src/registry/index.js";
import { createFakeGenerations, sampleGenerations } from "./generation-fixtures.js";

/** `svc-00` … in name order, registered in a shuffled order so the map, not the insertion, decides. */
const NAMES = Array.from({ length: 23 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);

async function registryWith(names: readonly string[]): Promise<Registry> {
  const registry = await createRegistry(createMemoryStore());
  for (const name of [...names].reverse()) await registry.putService(name, {});
  return registry;
}

/** Every page from the first, following `next`; fails on a loop. */
function followServices(view: RegistryView, limit: number): string[][] {
  const pages: string[][] = [];
  let query: ServicesQuery = { limit };
  for (;;) {
    const page = servicesPage(view, query, (entry) => entry.service.name);
    pages.push([...page.services]);
    if (page.next === undefined) return pages;
    assert.ok(pages.length <= view.services.size, "paging does not end");
    query = { limit, after: page.next };
  }
}

function errorOf(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    return (err as ValidationError).message;
  }
  assert.fail("expected a ValidationError");
}

function manyGenerations(count: number): Generation[] {
  const samples = sampleGenerations();
  return Array.from({ length: count }, (_, i) => ({ ...samples[i % samples.length]!, id: i + 1 }));
}

describe("admin paging - page functions", () => {
  let registry: Registry;
  before(async () => {
    registry = await registryWith(NAMES);
  });
  after(async () => {
    await registry.close();
  });

  it("admin paging - servicesPage: the first page holds the first names and says where to go on", () => {
    const page = servicesPage(registry.view(), { limit: 5 }, (entry) => entry.service.name);
    assert.deepEqual(page, { services: NAMES.slice(0, 5), next: "svc-04" });
    assert.deepEqual(servicesPage(registry.view(), { limit: 100 }, (entry) => entry.service.name), { services: NAMES });
  });

  it("admin paging - servicesPage: following next to the end visits every service exactly once, in order", () => {
    for (const limit of [1, 4, 7, 22, 23]) {
      const pages = followServices(registry.view(), limit);
      assert.deepEqual(pages.flat(), NAMES, `limit ${limit}`);
      assert.equal(pages.length, Math.ceil(NAMES.length / limit), `limit ${limit}`);
    }
  });

  it("admin paging - servicesPage: a cursor naming a deleted or never-registered service still works", async () => {
    const view = registry.view();
    assert.deepEqual(servicesPage(view, { limit: 2, after: "svc-04a" }, (e) => e.service.name).services, ["svc-05", "svc-06"]);
    assert.deepEqual(servicesPage(view, { limit: 2, after: "a" }, (e) => e.service.name).services, ["svc-00", "svc-01"]);
    assert.deepEqual(servicesPage(view, { limit: 2, after: "zzz" }, (e) => e.service.name), { services: [] });
    const scratch = await registryWith(["a", "b", "c", "d"]);
    const first = servicesPage(scratch.view(), { limit: 2 }, (e) => e.service.name);
    await scratch.deleteService(first.next!);
    assert.deepEqual(servicesPage(scratch.view(), { limit: 2, after: first.next! }, (e) => e.service.name), { services: ["c", "d"] });
    await scratch.close();
  });

  it("admin paging - servicesPage: a page stops early at its character budget, and always holds one", () => {
    const big = "x".repeat(Math.ceil(SERVICES_PAGE_CHARS / 3));
    const page = servicesPage(registry.view(), { limit: 20 }, (entry) => ({ name: entry.service.name, big }));
    assert.deepEqual(page.services.map((s) => s.name), NAMES.slice(0, 3));
    assert.equal(page.next, "svc-02");
    const huge = "x".repeat(SERVICES_PAGE_CHARS * 2);
    assert.equal(servicesPage(registry.view(), { limit: 20 }, (entry) => ({ name: entry.service.name, huge })).services.length, 1);
  });

  it("admin paging - parseServicesQuery: defaults, and every bad parameter named with what is allowed", () => {
    assert.deepEqual(parseServicesQuery({}), { limit: SERVICES_PAGE_DEFAULT });
    assert.deepEqual(parseServicesQuery({ limit: "5000", after: "svc-1" }), { limit: 5000, after: "svc-1" });
    assert.equal(errorOf(() => parseServicesQuery({ limit: "0" })), 'limit: must be an integer from 1 to 5000, got "0"');
    assert.equal(errorOf(() => parseServicesQuery({ limit: "5001" })), 'limit: must be an integer from 1 to 5000, got "5001"');
    assert.equal(errorOf(() => parseServicesQuery({ limit: "1e3" })), 'limit: must be an integer from 1 to 5000, got "1e3"');
    assert.equal(
      errorOf(() => parseServicesQuery({ after: "Bad_Name", page: "2" })),
      'page: unknown query parameter; allowed are limit, after, q and view; after: must be a service name (the next of the previous page), got "Bad_Name"',
    );
    assert.deepEqual(parseServicesQuery({ q: "gree", view: "summary", limit: "50" }), { limit: 50, q: "gree", view: "summary" });
    assert.deepEqual(parseServicesQuery({ q: "" }), { limit: SERVICES_PAGE_DEFAULT, q: "" });
    assert.equal(
      errorOf(() => parseServicesQuery({ q: "Gree ter", view: "table" })),
      'q: must be part of a service name: up to 63 of a-z, 0-9 and -, got "Gree ter"; view: must be one of full, summary, got "table"',
    );
    assert.equal(errorOf(() => parseServicesQuery({ after: ["a", "b"] })), "after: must be given at most once, got 2 values");
  });

  it("admin paging - selectGenerations: with after, pages ascend by id; following next visits each once", () => {
    const all = manyGenerations(450);
    const seen: number[] = [];
    let query: GenerationQuery = { after: 0 };
    let pages = 0;
    for (;;) {
      const page = selectGenerations(all, query);
      pages++;
      seen.push(...page.generations.map((g) => g.id));
      if (page.next === undefined) break;
      query = { after: page.next };
    }
    assert.deepEqual(seen, all.map((g) => g.id));
    assert.equal(pages, Math.ceil(450 / GENERATIONS_PAGE_DEFAULT));
    const first = selectGenerations(all, { after: 0 });
    assert.deepEqual([first.generations.length, first.next], [GENERATIONS_PAGE_DEFAULT, GENERATIONS_PAGE_DEFAULT]);
    assert.deepEqual(selectGenerations(all, { after: 440, limit: 3 }).generations.map((g) => g.id), [441, 442, 443]);
  });

  it("admin paging - selectGenerations: status filters every page; without after, every generation or the newest N", () => {
    const all = manyGenerations(60);
    const held = all.filter((g) => g.status === "held").map((g) => g.id);
    const first = selectGenerations(all, { status: "held", after: 0, limit: 4 });
    assert.deepEqual(first.generations.map((g) => g.id), held.slice(0, 4));
    const second = selectGenerations(all, { status: "held", after: first.next!, limit: 100 });
    assert.deepEqual(second.generations.map((g) => g.id), held.slice(4));
    assert.equal(second.next, undefined);
    assert.deepEqual(selectGenerations(all, { limit: 3 }), { generations: all.slice(57) });
    assert.deepEqual(selectGenerations(all, {}), { generations: all });
  });

  it("admin paging - selectGenerations: a page stops early at its character budget, and always holds one", () => {
    const big = "x".repeat(Math.ceil(GENERATIONS_PAGE_CHARS / 3));
    const all = manyGenerations(10).map((g) => ({ ...g, reason: big }));
    const page = selectGenerations(all, { after: 0, limit: 10 });
    assert.deepEqual([page.generations.map((g) => g.id), page.next], [[1, 2, 3], 3]);
    const huge = manyGenerations(2).map((g) => ({ ...g, reason: big.repeat(6) }));
    assert.deepEqual(selectGenerations(huge, { after: 0 }).generations.map((g) => g.id), [1]);
  });

  it("admin paging - parseGenerationQuery: after is a generation id, 0 or more; bad ones are named", () => {
    assert.deepEqual(parseGenerationQuery({ after: "0", limit: "1000", status: "held" }), { after: 0, limit: 1000, status: "held" });
    assert.equal(
      errorOf(() => parseGenerationQuery({ after: "-1", limit: "1001" })),
      'after: must be a generation id, 0 or more (the next of the previous page), got "-1"; limit: must be an integer from 1 to 1000, got "1001"',
    );
  });
});

describe("admin paging - GET /v1/services over HTTP", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    registry = await registryWith(NAMES.slice(0, 11));
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("admin paging - a small registry answers as before: revision and every service, no next", async () => {
    const answer = await get("/v1/services");
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.body), ["revision", "services"]);
    assert.equal(answer.body.revision, registry.view().revision);
    assert.deepEqual((answer.body.services as Array<{ name: string }>).map((s) => s.name), NAMES.slice(0, 11));
  });

  it("admin paging - limit and after walk three pages; each page carries next but the last", async () => {
    const pages: Array<Record<string, unknown>> = [];
    let path = "/v1/services?limit=4";
    for (;;) {
      const answer = await get(path);
      assert.equal(answer.status, 200);
      pages.push(answer.body);
      if (answer.body.next === undefined) break;
      path = `/v1/services?limit=4&after=${String(answer.body.next)}`;
    }
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((p) => p.next), ["svc-03", "svc-07", undefined]);
    const names = pages.flatMap((p) => (p.services as Array<{ name: string }>).map((s) => s.name));
    assert.deepEqual(names, NAMES.slice(0, 11));
    // The services are shown as GET /v1/services/{name} shows them.
    const one = await get("/v1/services/svc-05");
    assert.deepEqual((pages[1]!.services as unknown[])[1], one.body.service);
  });

  it("admin paging - a bad limit or after is a 400 with the one-line error", async () => {
    const bad = await get("/v1/services?limit=none&after=..");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'limit: must be an integer from 1 to 5000, got "none"; after: must be a service name (the next of the previous page), got ".."');
  });
});
