import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { main } from "../../src/cli/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, loadCodec, type ClusterLoadAssignment, type DiscoveryResponse } from "../../src/proto/index.js";
import { ADS_SERVICE_NAME } from "../../src/proto/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";
import { captureIo } from "../helpers/io.js";

const codec = loadCodec();
const node = { id: "raw-1", cluster: "test", user_agent_name: "raw-test" };
let cp: TestControlPlane;
const open: RawAdsStream[] = [];

function stream(): RawAdsStream {
  const s = openRawAds(cp.xds.port, codec);
  open.push(s);
  return s;
}

function names(response: DiscoveryResponse): string[] {
  return response.resources
    .map((r) => {
      const resource = codec.decodeResource(response.type_url as typeof LISTENER_TYPE, r.value) as { name?: string; cluster_name?: string };
      return resource.name ?? resource.cluster_name ?? "";
    })
    .sort();
}

function endpointPorts(response: DiscoveryResponse): number[] {
  return response.resources.flatMap((r) => {
    const cla = codec.decodeResource(ENDPOINT_TYPE, r.value) as ClusterLoadAssignment;
    return cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0));
  });
}

/**
 * Reads (and ACKs, keeping the subscription `subscribed`: wildcard by default) responses of one type
 * until one holds exactly `want`; snapshots trail writes by the coalescing delay.
 */
async function untilNames(s: RawAdsStream, want: string[], subscribed: string[] = []): Promise<DiscoveryResponse> {
  for (;;) {
    const r = await s.next();
    if (JSON.stringify(names(r)) === JSON.stringify(want)) return r;
    s.send({ type_url: r.type_url, resource_names: subscribed, version_info: r.version_info, response_nonce: r.nonce });
  }
}

/** A type the server does not serve: a request for it with no nonce is always answered at once, with nothing. */
const BARRIER_TYPE = "type.googleapis.com/steadymesh.test.Barrier";

/** Every response the server wrote before it answered a request sent now (responses on a stream are ordered). */
async function barrier(s: RawAdsStream): Promise<DiscoveryResponse[]> {
  s.send({ type_url: BARRIER_TYPE });
  const before: DiscoveryResponse[] = [];
  for (;;) {
    const r = await s.next();
    if (r.type_url === BARRIER_TYPE) return before;
    before.push(r);
  }
}

/** One type's status in GET /v1/clients, once `ready` holds (or the last seen after 2 s). */
async function typeStatus(nodeId: string, short: string, ready: (t: any) => boolean): Promise<any> {
  let status: any;
  for (let i = 0; i < 100; i++) {
    const res = await cp.api("GET", "/v1/clients");
    status = res.body.clients.find((c: any) => c.nodeId === nodeId)?.types?.[short];
    if (status && ready(status)) return status;
    await sleep(20);
  }
  return status;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

before(async () => {
  cp = await startControlPlane();
  await cp.register("alpha", "a1", 7001);
  await cp.register("beta", "b1", 7002);
});

after(async () => {
  for (const s of open) s.close();
  await cp?.close();
});

test("ads protocol - wildcard LDS gets every listener, fresh nonce, matching type URLs", async () => {
  const s = stream();
  s.send({ node, type_url: LISTENER_TYPE });
  const r = await s.next();
  assert.equal(r.type_url, LISTENER_TYPE);
  assert.deepEqual(names(r), ["alpha", "beta"]);
  assert.notEqual(r.version_info, "");
});

test("ads protocol - an ACK gets no reply; the next response is the next change", async () => {
  const s = stream();
  s.send({ node, type_url: ENDPOINT_TYPE, resource_names: ["alpha"] });
  const first = await s.next();
  assert.deepEqual(endpointPorts(first), [7001]);
  s.send({ type_url: ENDPOINT_TYPE, resource_names: ["alpha"], version_info: first.version_info, response_nonce: first.nonce });
  // A change to a resource we do not watch must not produce a response either.
  await cp.register("beta", "b2", 7003);
  await cp.register("alpha", "a2", 7004);
  const second = await s.next();
  // Responses on a stream are ordered: had the ACK been answered, that answer would come first.
  assert.deepEqual(endpointPorts(second).sort(), [7001, 7004]);
  assert.notEqual(second.version_info, first.version_info);
  assert.ok(Number(second.nonce) > Number(first.nonce));
  assert.equal(s.buffered(), 0);
  await cp.deregister("alpha", "a2");
  await cp.deregister("beta", "b2");
});

test("ads protocol - named subscriptions: adding a name answers with both; unknown names are left out", async () => {
  const s = stream();
  s.send({ node, type_url: CLUSTER_TYPE, resource_names: ["alpha"] });
  const first = await s.next();
  assert.deepEqual(names(first), ["alpha"]);
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha", "beta", "nope"], version_info: first.version_info, response_nonce: first.nonce });
  const second = await s.next();
  assert.deepEqual(names(second), ["alpha", "beta"]);
});

test("ads protocol - a NACK is recorded and shown by GET /v1/clients and steadymesh status", async () => {
  const s = stream();
  s.send({ node: { ...node, id: "nacker-1" }, type_url: ROUTE_TYPE, resource_names: ["alpha"] });
  const first = await s.next();
  s.send({ type_url: ROUTE_TYPE, resource_names: ["alpha"], version_info: first.version_info, response_nonce: first.nonce });
  await cp.register("alpha", "a3", 7005); // no RDS change: routes do not depend on endpoints
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha"] });
  const cds = await s.next();
  assert.equal(cds.type_url, CLUSTER_TYPE);
  s.send({
    type_url: CLUSTER_TYPE,
    resource_names: ["alpha"],
    version_info: "",
    response_nonce: cds.nonce,
    error_detail: { code: 3, message: "cluster alpha: unsupported lb_policy: MAGLEV", details: [] },
  });
  let client: any;
  for (let i = 0; i < 50 && !client?.types?.CDS?.lastNack; i++) {
    const res = await cp.api("GET", "/v1/clients");
    client = res.body.clients.find((c: any) => c.nodeId === "nacker-1");
    if (!client?.types?.CDS?.lastNack) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(client.types.CDS.lastNack.errorDetail.message, "cluster alpha: unsupported lb_policy: MAGLEV");
  assert.equal(client.types.CDS.lastNack.nonce, cds.nonce);
  assert.equal(client.types.RDS.ackedVersion, first.version_info);
  assert.equal(client.types.CDS.ackedVersion, "");

  const io = captureIo();
  const code = await main(["node", "steadymesh", "status", ...cp.cliArgs], io);
  assert.equal(code, 0, io.err());
  assert.match(io.out(), /nacker-1/);
  assert.match(io.out(), /unsupported lb_policy: MAGLEV/);
  await cp.deregister("alpha", "a3");
});

test("ads protocol - a stale nonce is neither ACK nor NACK, but its resource_names change the subscription", async () => {
  const s = stream();
  const id = "stale-1";
  s.send({ node: { ...node, id }, type_url: CLUSTER_TYPE, resource_names: ["alpha"] });
  const first = await s.next();
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha"], version_info: first.version_info, response_nonce: first.nonce });
  const acked = await typeStatus(id, "CDS", (t) => t.ackedVersion === first.version_info);
  await sleep(5); // so that an ACK recorded from here on would show a later ackedAt
  // A stale nonce with a changed subscription (and an error_detail): the new names are answered; nothing is recorded.
  s.send({
    type_url: CLUSTER_TYPE,
    resource_names: ["alpha", "beta"],
    version_info: "stale-version",
    response_nonce: "999",
    error_detail: { code: 3, message: "stale NACK", details: [] },
  });
  const next = await s.next();
  assert.equal(next.type_url, CLUSTER_TYPE);
  assert.deepEqual(names(next), ["alpha", "beta"]);
  // The same stale nonce with an unchanged subscription gets no reply: the next response is the barrier's.
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["beta", "alpha"], version_info: first.version_info, response_nonce: "999" });
  assert.deepEqual(await barrier(s), []);
  const cds = await typeStatus(id, "CDS", () => true);
  assert.deepEqual(cds.subscribed, ["alpha", "beta"]);
  assert.equal(cds.ackedVersion, first.version_info);
  assert.equal(cds.ackedAt, acked.ackedAt, "a stale request is not an ACK");
  assert.equal(cds.lastNack, undefined, "a stale request is not a NACK");
});

test("ads protocol - grpc-go after a delete and an identical re-create: stale-nonce unsubscribes count, and the re-subscription is answered", async (t) => {
  // grpc-go 1.60.1's sequence on xds:///phoenix (measured; XDS-NOTES.md). The raw client plays it.
  await cp.register("phoenix", "p1", 7020);
  t.after(async () => {
    // Whatever happened, later tests see alpha and beta only, and only once that is served.
    await cp.api("DELETE", "/v1/services/phoenix");
    const check = stream();
    check.send({ node, type_url: LISTENER_TYPE });
    await untilNames(check, ["alpha", "beta"]);
  });
  const id = "grpc-go-1";
  const s = stream();
  s.send({ node: { ...node, id }, type_url: LISTENER_TYPE, resource_names: ["phoenix"] });
  const lds = await untilNames(s, ["phoenix"], ["phoenix"]);
  s.send({ type_url: LISTENER_TYPE, resource_names: ["phoenix"], version_info: lds.version_info, response_nonce: lds.nonce });
  const first = new Map<string, DiscoveryResponse>();
  for (const type of [ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE]) {
    s.send({ type_url: type, resource_names: ["phoenix"] });
    const r = await s.next();
    assert.equal(r.type_url, type);
    assert.deepEqual(names(r), ["phoenix"]);
    s.send({ type_url: type, resource_names: ["phoenix"], version_info: r.version_info, response_nonce: r.nonce });
    first.set(type, r);
  }
  const ackedBefore = await typeStatus(id, "EDS", (t) => t.ackedVersion === first.get(ENDPOINT_TYPE)!.version_info);
  await sleep(5);

  // Deletion: every type's answer becomes empty.
  assert.equal((await cp.api("DELETE", "/v1/services/phoenix")).status, 200);
  const gone = new Map<string, DiscoveryResponse>();
  while (gone.size < 4) {
    const r = await s.next();
    assert.deepEqual(names(r), [], `${r.type_url} after the deletion`);
    gone.set(r.type_url, r);
  }
  for (const type of [LISTENER_TYPE, ROUTE_TYPE]) {
    const r = gone.get(type)!;
    s.send({ type_url: type, resource_names: ["phoenix"], version_info: r.version_info, response_nonce: r.nonce });
  }
  // grpc-go unsubscribes CDS and EDS carrying the nonces of the responses before the deletion: stale.
  for (const type of [CLUSTER_TYPE, ENDPOINT_TYPE]) {
    const r = first.get(type)!;
    s.send({ type_url: type, resource_names: [], version_info: r.version_info, response_nonce: r.nonce });
  }
  const latest = new Map<string, DiscoveryResponse>(gone);
  for (const r of await barrier(s)) latest.set(r.type_url, r);
  for (const short of ["CDS", "EDS"]) {
    const t = await typeStatus(id, short, () => true);
    assert.equal(t.lastNack, undefined, `${short}: a stale request is not a NACK`);
  }
  const eds = await typeStatus(id, "EDS", () => true);
  assert.equal(eds.ackedAt, ackedBefore.ackedAt, "EDS: a stale request is not an ACK");

  // Identical re-creation: the client still watches the Listener and the RouteConfiguration.
  await cp.register("phoenix", "p1", 7020);
  for (;;) {
    const r = await s.next();
    latest.set(r.type_url, r);
    if (r.type_url === LISTENER_TYPE && names(r).includes("phoenix")) break;
  }
  for (const r of await barrier(s)) latest.set(r.type_url, r);
  for (const type of [LISTENER_TYPE, ROUTE_TYPE]) {
    const r = latest.get(type)!;
    s.send({ type_url: type, resource_names: ["phoenix"], version_info: r.version_info, response_nonce: r.nonce });
  }
  // Re-subscription: CDS with the latest nonce it holds, EDS with a stale one; both must be answered.
  const cdsLatest = latest.get(CLUSTER_TYPE)!;
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["phoenix"], version_info: cdsLatest.version_info, response_nonce: cdsLatest.nonce });
  s.send({ type_url: ENDPOINT_TYPE, resource_names: ["phoenix"], version_info: first.get(ENDPOINT_TYPE)!.version_info, response_nonce: first.get(ENDPOINT_TYPE)!.nonce });
  const answers = new Map((await barrier(s)).map((r) => [r.type_url, r]));
  assert.deepEqual(answers.has(CLUSTER_TYPE) && names(answers.get(CLUSTER_TYPE)!), ["phoenix"], "CDS re-subscription answered with the Cluster");
  assert.deepEqual(answers.has(ENDPOINT_TYPE) && endpointPorts(answers.get(ENDPOINT_TYPE)!), [7020], "EDS re-subscription answered with the endpoints");
  for (const short of ["CDS", "EDS"]) assert.deepEqual((await typeStatus(id, short, () => true)).subscribed, ["phoenix"]);
});

test("ads protocol - a reconnect with an old version and empty nonce gets the full current state", async () => {
  const s1 = stream();
  s1.send({ node, type_url: LISTENER_TYPE });
  const before = await s1.next();
  s1.close();
  const s2 = stream();
  s2.send({ node, type_url: LISTENER_TYPE, version_info: before.version_info });
  const full = await s2.next();
  assert.deepEqual(names(full), ["alpha", "beta"]);
  assert.equal(full.version_info, before.version_info);
});

test("ads protocol - SotW deletion: a deleted service is left out of the next LDS and CDS", async () => {
  await cp.register("gamma", "g1", 7010);
  const s = stream();
  s.send({ node, type_url: LISTENER_TYPE });
  const lds = await untilNames(s, ["alpha", "beta", "gamma"]);
  s.send({ node, type_url: CLUSTER_TYPE });
  const cds = await s.next();
  assert.deepEqual(names(cds), ["alpha", "beta", "gamma"]);
  s.send({ type_url: LISTENER_TYPE, version_info: lds.version_info, response_nonce: lds.nonce });
  s.send({ type_url: CLUSTER_TYPE, version_info: cds.version_info, response_nonce: cds.nonce });
  const res = await cp.api("DELETE", "/v1/services/gamma");
  assert.equal(res.status, 200);
  const got = [await s.next(), await s.next()];
  const byType = new Map(got.map((r) => [r.type_url, r]));
  assert.deepEqual(names(byType.get(LISTENER_TYPE)!), ["alpha", "beta"]);
  assert.deepEqual(names(byType.get(CLUSTER_TYPE)!), ["alpha", "beta"]);
});

test("ads protocol - an unknown type URL gets an empty response of that type; the stream keeps working", async () => {
  const s = stream();
  const unknown = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
  s.send({ node, type_url: unknown, resource_names: ["x"] });
  const r = await s.next();
  assert.equal(r.type_url, unknown);
  assert.equal(r.resources.length, 0);
  s.send({ type_url: LISTENER_TYPE });
  assert.deepEqual(names(await s.next()), ["alpha", "beta"]);
});

test("ads protocol - a request without type_url ends that stream with INVALID_ARGUMENT; the server keeps serving", async () => {
  const s = stream();
  s.send({ node });
  const status = await s.status();
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status.details, /type_url is required/);
  const other = stream();
  other.send({ node, type_url: LISTENER_TYPE });
  assert.deepEqual(names(await other.next()), ["alpha", "beta"]);
});

test("ads protocol - bytes that are not a DiscoveryRequest end the stream, never the server", async () => {
  const raw = grpc.makeGenericClientConstructor(
    {
      Stream: {
        path: `/${ADS_SERVICE_NAME}/StreamAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    "Raw",
  );
  const client = new raw(`127.0.0.1:${cp.xds.port}`, grpc.credentials.createInsecure());
  const call = (client as any).Stream() as grpc.ClientDuplexStream<Buffer, Buffer>;
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {
    /* expected: the status is asserted below */
  });
  call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]));
  const st = await status;
  assert.notEqual(st.code, grpc.status.OK);
  client.close();
  const s = stream();
  s.send({ node, type_url: LISTENER_TYPE });
  assert.deepEqual(names(await s.next()), ["alpha", "beta"]);
});
