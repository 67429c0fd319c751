/**
 * The CLI follows the pages of the admin API's large reads, so its output
 * does not depend on how the server cut them: `list` and `status`
 * (GET /v1/services) and `generations` (GET /v1/generations), against a live
 * admin API on loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { GENERATIONS_PAGE_DEFAULT } from "../../src/admin/generation-routes.js";
import { main } from "../../src/cli/index.js";
import type { Generation } from "../../src/guard/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations, sampleGenerations } from "./generation-fixtures.js";

async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** 40 services whose metadata (64 values of 1,000 characters) makes a page of GET /v1/services stop at its size bound, about 16 services. */
const SERVICES = Array.from({ length: 40 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);
const BULKY_METADATA = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, "v".repeat(1000)]));
const GENERATION_COUNT = GENERATIONS_PAGE_DEFAULT * 3 + 5;
/** The one service whose configuration does not build: the last, on the last page. */
const FAILING = SERVICES[SERVICES.length - 1]!;

describe("cli paging", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  const generations: Generation[] = Array.from({ length: GENERATION_COUNT }, (_, i) => ({ ...sampleGenerations()[i % 6]!, id: i + 1 }));

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    for (const [i, name] of SERVICES.entries()) {
      await registry.putService(name, { metadata: BULKY_METADATA });
      await registry.putInstance(name, "a", { address: "127.0.0.1", port: 1000 + i });
    }
    const builds = {
      failure: (service: string) => (service === FAILING ? { service, status: "failing" as const, since: "2024-01-01T00:00:00.000Z", sinceRevision: 3, problems: [{ path: "services[x]", message: "does not build" }] } : undefined),
    };
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations(generations), builds });
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("cli paging - list prints every service when the registry takes several pages", async () => {
    const first = (await (await fetch(`${url}/v1/services`)).json()) as { services: unknown[]; next?: string };
    assert.ok(first.next !== undefined && first.services.length < SERVICES.length, "the server cuts the registry into pages");
    const table = await run(["list", "--admin", url]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trimEnd().split("\n").slice(1);
    const tableRows = rows.slice(0, SERVICES.length);
    assert.deepEqual(tableRows.map((row) => row.split(/\s+/)[0]), SERVICES);
    assert.deepEqual(tableRows.map((row) => row.split(/ {2,}/)[2]), SERVICES.map((_, i) => `127.0.0.1:${1000 + i}`));
    const json = await run(["list", "--json", "--admin", url]);
    const answer = JSON.parse(json.stdout) as { revision: number; services: Array<{ name: string }>; next?: string };
    assert.deepEqual(Object.keys(answer), ["revision", "services"], "the pages joined, without next");
    assert.equal(answer.revision, registry.view().revision);
    assert.deepEqual(answer.services.map((s) => s.name), SERVICES);
  });

  it("cli paging - generations prints every generation past several pages; --limit still shows the newest N", async () => {
    const json = await run(["generations", "--json", "--admin", url]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { generations: Generation[] }).generations.map((g) => g.id), generations.map((g) => g.id));
    const held = await run(["generations", "--status", "held", "--json", "--admin", url]);
    assert.deepEqual((JSON.parse(held.stdout) as { generations: Generation[] }).generations.map((g) => g.id), generations.filter((g) => g.status === "held").map((g) => g.id));
    const newest = await run(["generations", "--limit", "2", "--json", "--admin", url]);
    assert.deepEqual((JSON.parse(newest.stdout) as { generations: Generation[] }).generations.map((g) => g.id), [GENERATION_COUNT - 1, GENERATION_COUNT]);
  });

  it("cli paging - status reports a failing service on the last page of GET /v1/services", async () => {
    const json = await run(["status", "--json", "--admin", url]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { failingServices: Array<{ service: string }> }).failingServices.map((s) => s.service), [FAILING]);
    const table = await run(["status", "--admin", url]);
    assert.match(table.stdout, new RegExp(`services whose configuration is not being updated: ${FAILING} `));
  });
});
