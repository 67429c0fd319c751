import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { main } from "../../src/cli/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, loadCodec, type ClusterLoadAssignment, type DiscoveryResponse } from "../../src/proto/index.js";
import { ADS_SERVICE_NAME } from "../../src/xds/index.js";
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
  return response.resources.map((r) => (codec.decodeResource(response.type_url as typeof LISTENER_TYPE, r.value) as { name: string }).name).sort();
}

function endpointPorts(response: DiscoveryResponse): number[] {
  return response.resources.flatMap((r) => {
    const cla = codec.decodeResource(ENDPOINT_TYPE, r.value) as ClusterLoadAssignment;
    return cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0));
  });
}

/** Reads (and ACKs) responses of one type until one holds exactly `want`; snapshots trail writes by the coalescing delay. */
async function untilNames(s: RawAdsStream, want: string[]): Promise<DiscoveryResponse> {
  for (;;) {
    const r = await s.next();
    if (JSON.stringify(names(r)) === JSON.stringify(want)) return r;
    s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce });
  }
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
  const code = await main(["node", "steadymesh", "status", "--admin", cp.adminUrl], io);
  assert.equal(code, 0, io.err());
  assert.match(io.out(), /nacker-1/);
  assert.match(io.out(), /unsupported lb_policy: MAGLEV/);
  await cp.deregister("alpha", "a3");
});

test("ads protocol - a stale nonce is ignored", async () => {
  const s = stream();
  s.send({ node, type_url: CLUSTER_TYPE, resource_names: ["alpha"] });
  const first = await s.next();
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha"], version_info: first.version_info, response_nonce: first.nonce });
  // Stale nonce with a changed subscription: must be ignored entirely.
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha", "beta"], version_info: first.version_info, response_nonce: "999" });
  s.send({ type_url: LISTENER_TYPE, resource_names: ["beta"] });
  const next = await s.next();
  assert.equal(next.type_url, LISTENER_TYPE, "the stale request must not have been answered");
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
