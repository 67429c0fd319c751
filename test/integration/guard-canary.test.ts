import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { ENDPOINT_TYPE, loadCodec, type DiscoveryResponse } from "../../src/proto/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { captureIo } from "../helpers/io.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";
import { RPS } from "../helpers/scenario.js";

/**
 * Staged rollout: clients whose node id matches `canary-*` get each new
 * generation first. The canary here is a raw ADS client that NACKs any
 * ClusterLoadAssignment listing the third backend, as a client with a bug
 * (or a stricter validator) would; the stable group is a stock
 * @grpc/grpc-js-xds client.
 */
const codec = loadCodec();
const BAKE_MS = 3000;
let cp: TestControlPlane;
let stable: ClientProcess;
let canary: RawAdsStream;
const backends: Backend[] = [];

before(async () => {
  cp = await startControlPlane({ rollout: { canary: [{ kind: "node-id", glob: "canary-*" }], bakeMs: BAKE_MS } });
  for (let i = 1; i <= 3; i++) backends.push(await startBackend(`b${i}`));
  stable = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stable-1", xds: [`127.0.0.1:${cp.xds.port}`] }) });
});

after(async () => {
  canary?.close();
  await stable?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  await cp?.close();
});

function ports(response: DiscoveryResponse): number[] {
  return response.resources.flatMap((r) => codec.decodeResource(ENDPOINT_TYPE, r.value).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0))).sort((a, b) => a - b);
}

async function generation(id: number): Promise<{ id: number; status: string; reason: string; nack?: { nodeId: string; errorDetail: { message: string } } }> {
  await cp.guard.settled();
  return (await cp.api("GET", `/v1/generations/${id}`)).body;
}

test("canary - a NACK in the canary group rolls the canary back and holds the generation; the stable group never sees it", async () => {
  const [b1, b2, b3] = backends as [Backend, Backend, Backend];
  await cp.register("greeter", b1.id, b1.port);
  await cp.register("greeter", b2.id, b2.port);
  // No canary client is connected yet: each generation is promoted once the bake time passes.
  await stable.callUntil("xds:///greeter", (r) => r.ok && r.backend === "b2", 15_000);

  canary = openRawAds(cp.xds.port, codec);
  canary.send({ node: { id: "canary-1", cluster: "test", user_agent_name: "raw-canary" }, type_url: ENDPOINT_TYPE, resource_names: ["greeter"] });
  const first = await canary.next();
  const sorted = (...p: number[]) => p.sort((a, b) => a - b);
  assert.deepEqual(ports(first), sorted(b1.port, b2.port));
  canary.send({ type_url: ENDPOINT_TYPE, resource_names: ["greeter"], version_info: first.version_info, response_nonce: first.nonce });

  await cp.register("greeter", b3.id, b3.port);
  const bad = await canary.next();
  assert.deepEqual(ports(bad), sorted(b1.port, b2.port, b3.port), "the canary gets the new generation first");
  const gens = (await cp.api("GET", "/v1/generations?status=canary")).body.generations as Array<{ id: number }>;
  assert.equal(gens.length, 1);
  const badId = gens[0]!.id;
  const message = `canary-1 refuses 127.0.0.1:${b3.port}`;
  canary.send({ type_url: ENDPOINT_TYPE, resource_names: ["greeter"], version_info: first.version_info, response_nonce: bad.nonce, error_detail: { code: 3, message, details: [] } });

  const rolledBack = await canary.next();
  assert.deepEqual(ports(rolledBack), sorted(b1.port, b2.port), "the canary is rolled back to the last pushed generation");
  const held = await generation(badId);
  assert.equal(held.status, "held");
  assert.equal(held.nack?.nodeId, "canary-1");
  assert.equal(held.nack?.errorDetail.message, message);

  // Well past the bake time: the stable client never reaches b3.
  const load = await stable.load("xds:///greeter", RPS, BAKE_MS + 2000);
  assert.equal(load.failed, 0, JSON.stringify(load.errors));
  assert.deepEqual(Object.keys(load.backends).sort(), ["b1", "b2"]);
  const clients = (await cp.api("GET", "/v1/clients")).body.clients as Array<{ nodeId: string; types: Record<string, { sentGeneration?: number }> }>;
  const stableStatus = clients.find((c) => c.nodeId === "stable-1")!;
  assert.ok(Object.values(stableStatus.types).every((t) => t.sentGeneration !== badId), JSON.stringify(stableStatus.types));

  const io = captureIo();
  assert.equal(await main(["node", "steadymesh", "status", ...cp.cliArgs], io), 0, io.err());
  assert.match(io.out(), /canary-1/);
  assert.match(io.out(), new RegExp(message.replace(/\./g, "\\.")));
  const gio = captureIo();
  assert.equal(await main(["node", "steadymesh", "generations", ...cp.cliArgs], gio), 0, gio.err());
  assert.match(gio.out(), new RegExp(`^\\s*${badId}\\s+held\\b`, "m"));
  assert.match(gio.out(), /canary NACK from canary-1/);
});
