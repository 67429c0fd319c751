import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CLIENTS_PAGE_CHARS, CLIENTS_PAGE_DEFAULT, createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { STATUS_METADATA_KEYS, STATUS_NACK_CHARS, STATUS_NAMES_SHOWN, STATUS_TEXT_CHARS, type ClientStatus } from "../../src/xds/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";

function client(n: number, extra: Partial<ClientStatus> = {}): ClientStatus {
  return { streamId: `s${n}`, nodeId: `node-${n}`, cluster: "c", metadata: {}, userAgent: "ua", peer: "127.0.0.1:1", connectedAt: "2024-01-01T00:00:00.000Z", protocol: "sotw", types: {}, ...extra };
}

describe("admin clients", () => {
  let registry: Registry;
  let admin: AdminServer;
  let clients: ClientStatus[] = [];
  const get = async (url: string) => {
    const response = await admin.inject({ method: "GET", url });
    return { status: response.statusCode, body: response.json(), chars: response.body.length };
  };

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => clients }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("admin clients - GET /v1/clients pages by stream id: limit, after and next, total in all", async () => {
    clients = [12, 3, 250, 7, 100].map((n) => client(n));
    const first = await get("/v1/clients?limit=2");
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.clients.map((c: ClientStatus) => c.streamId), ["s3", "s7"]);
    assert.deepEqual([first.body.total, first.body.next], [5, "s7"]);
    const second = await get("/v1/clients?limit=2&after=s7");
    assert.deepEqual(second.body.clients.map((c: ClientStatus) => c.streamId), ["s12", "s100"]);
    // s100 disconnects between pages: the cursor still works.
    clients = clients.filter((c) => c.streamId !== "s100");
    const last = await get(`/v1/clients?limit=2&after=${second.body.next}`);
    assert.deepEqual(last.body.clients.map((c: ClientStatus) => c.streamId), ["s250"]);
    assert.equal(last.body.next, undefined);
    clients = Array.from({ length: 250 }, (_, i) => client(i + 1));
    const byDefault = await get("/v1/clients");
    assert.equal(byDefault.body.clients.length, CLIENTS_PAGE_DEFAULT);
    assert.equal(byDefault.body.next, `s${CLIENTS_PAGE_DEFAULT}`);
  });

  it("admin clients - a bad limit or cursor, or an unknown parameter, is a 400 naming each", async () => {
    const bad = await get("/v1/clients?limit=0&after=x&page=2");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'page: unknown query parameter; allowed are limit and after; limit: must be an integer from 1 to 1000, got "0"; after: must be a stream id such as s42 (the next of the previous page), got "x"');
    assert.equal((await get("/v1/clients?limit=1001")).status, 400);
    assert.equal((await get("/v1/clients?limit=1&limit=2")).status, 400);
  });

  it("admin clients - fields a client chose are clipped, and a page of huge clients stays near its size bound", async () => {
    const huge = "x".repeat(200_000);
    const metadata = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i === 0 ? { nested: huge } : huge]));
    const names = Array.from({ length: STATUS_NAMES_SHOWN }, (_, i) => `${i}${huge.slice(0, 3000)}`);
    const type = { typeUrl: huge, subscribed: names, subscribedCount: 50_000, sentVersion: "1", sentNonce: "1", ackedVersion: huge, lastNack: { at: "t", nonce: "1", version: huge, errorDetail: { code: 3, message: huge } } };
    clients = Array.from({ length: 50 }, (_, i) => client(i + 1, { nodeId: huge, cluster: huge, userAgent: huge, metadata, types: { EDS: type, [huge]: type } }));
    const page = await get("/v1/clients?limit=1000");
    assert.equal(page.status, 200);
    const first = page.body.clients[0];
    assert.ok(first.nodeId.length < STATUS_TEXT_CHARS + 30 && first.nodeId.endsWith(`…[+${200_000 - STATUS_TEXT_CHARS} chars]`));
    assert.equal(Object.keys(first.metadata).length, STATUS_METADATA_KEYS + 1);
    assert.equal(first.metadata["…"], `${100 - STATUS_METADATA_KEYS} more keys`);
    assert.equal(typeof first.metadata.k0, "string", "a long non-string value is shown as clipped JSON");
    assert.ok(first.types.EDS.lastNack.errorDetail.message.length < STATUS_NACK_CHARS + 30);
    assert.equal(first.types.EDS.subscribedCount, 50_000);
    assert.ok(first.types.EDS.subscribed.every((name: string) => name.length < STATUS_TEXT_CHARS + 30));
    assert.equal(Object.keys(first.types).length, 2);
    assert.ok(page.chars < CLIENTS_PAGE_CHARS + 200_000, `page of ${page.chars} characters`);
    assert.ok(page.body.clients.length < 50 && page.body.next !== undefined, "the page stopped early and says where to go on");
  });
});
