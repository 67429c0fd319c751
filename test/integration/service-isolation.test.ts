/**
 * One bad service never blocks the others, over real gRPC. The data dir holds
 * a registry written by an older steadymesh (straight through the store's
 * commit, without the unique-endpoint check): greeter has two instances on
 * one address and port, the second unhealthy (so not sent, and harmless).
 * An in-place update turns it healthy, so greeter no longer builds; a change
 * to login must still reach a raw ADS client, greeter must keep the endpoints
 * clients had, and the failure must show in the admin API, `list`, `status`
 * and /metrics, until it is fixed.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { ENDPOINT_TYPE, loadCodec, type DiscoveryResponse } from "../../src/proto/index.js";
import { openSqliteStore } from "../../src/registry/stores/index.js";
import { startControlPlane, tempDir, type TestControlPlane } from "../helpers/control-plane.js";
import { captureIo } from "../helpers/io.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";

const codec = loadCodec();
const node = { id: "iso-1", cluster: "test", user_agent_name: "raw-test" };
const GREETER = { address: "127.0.0.1", port: 7101 };

let dir: { path: string; cleanup(): Promise<void> };
let cp: TestControlPlane;
let ads: RawAdsStream;
let startRevision: number;

/** Ports per ClusterLoadAssignment of a SotW EDS response. */
function portsByName(response: DiscoveryResponse): Record<string, number[]> {
  return Object.fromEntries(response.resources.map((r) => {
    const cla = codec.decodeResource(ENDPOINT_TYPE, r.value);
    return [cla.cluster_name, cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0)).sort()];
  }));
}

/** ACKs responses until one holds exactly `want`; snapshots trail writes by the coalescing delay. Fails after `timeoutMs` without one. */
async function untilEndpoints(want: Record<string, number[]>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, number[]> | undefined;
  for (;;) {
    const left = deadline - Date.now();
    let response: DiscoveryResponse;
    try {
      response = await ads.next(Math.max(1, left));
    } catch (err) {
      throw new Error(`no EDS response with ${JSON.stringify(want)} within ${timeoutMs} ms; last was ${JSON.stringify(last)}`, { cause: err });
    }
    ads.send({ type_url: ENDPOINT_TYPE, resource_names: ["greeter", "login"], version_info: response.version_info, response_nonce: response.nonce });
    last = portsByName(response);
    if (JSON.stringify(last) === JSON.stringify(want)) return;
  }
}

async function cli(...args: string[]): Promise<string> {
  const io = captureIo();
  const code = await main(["node", "steadymesh", ...args, ...cp.cliArgs], io);
  assert.equal(code, 0, io.err());
  return io.out();
}

/** Polls GET /v1/services/{name} until `check` holds for the service; fails after `timeoutMs`. */
async function untilService(name: string, check: (service: any) => boolean, timeoutMs = 3000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const service = (await cp.api("GET", `/v1/services/${name}`)).body.service;
    if (check(service)) return service;
    assert.ok(Date.now() < deadline, `service ${name} did not reach the expected state within ${timeoutMs} ms: ${JSON.stringify(service)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failingGauge(): Promise<string[]> {
  const text = await (await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() })).text();
  return text.split("\n").filter((line) => line.startsWith("steadymesh_snapshot_service_failing{"));
}

before(async () => {
  dir = await tempDir();
  const old = await openSqliteStore({ dataDir: dir.path });
  const put = (service: string, id: string, fields: object) => ({
    kind: "put-instance" as const,
    instance: { service, id, zone: "", region: "", weight: 1, health: "healthy" as const, metadata: {}, ...GREETER, ...fields },
    serviceDefaults: { name: service, protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} },
  });
  await old.commit([put("greeter", "i-1", {}), put("greeter", "i-2", { health: "unhealthy" }), put("login", "l1", { port: 7201 })]);
  await old.close();
  cp = await startControlPlane({ store: "sqlite", dataDir: dir.path });
  startRevision = (await cp.api("GET", "/healthz")).body.revision;
  ads = openRawAds(cp.xds.port, codec);
  ads.send({ node: node as never, type_url: ENDPOINT_TYPE, resource_names: ["greeter", "login"] });
  await untilEndpoints({ greeter: [7101], login: [7201] });
});

after(async () => {
  ads?.close();
  await cp?.close();
  await dir?.cleanup();
});

test("service isolation - a service that stops building keeps its endpoints while another service's change still reaches the client", async () => {
  const update = await cp.api("PUT", "/v1/services/greeter/instances/i-2", { ...GREETER, health: "healthy" });
  assert.equal(update.status, 200, "an in-place update beside an old duplicate is accepted");
  const failedAt = update.body.revision;
  assert.equal((await cp.api("PUT", "/v1/services/greeter/instances/i-3", GREETER)).status, 409, "a new duplicate is refused");
  // The failing build runs after the coalescing delay; the login change comes after it.
  const greeter = await untilService("greeter", (service) => service.build !== undefined);

  await cp.register("login", "l2", 7202);
  await untilEndpoints({ greeter: [7101], login: [7201, 7202] });

  assert.equal(greeter.build.status, "failing");
  assert.equal(greeter.build.sinceRevision, failedAt);
  assert.equal(greeter.build.servedRevision, startRevision);
  assert.ok(!Number.isNaN(Date.parse(greeter.build.since)));
  assert.deepEqual(greeter.build.problems, [{ path: "services[greeter].instances[i-2].address", message: "127.0.0.1:7101 is also used by instance i-1; gRPC clients reject duplicate endpoints" }]);
  assert.equal((await cp.api("GET", "/v1/services/login")).body.service.build, undefined);

  const list = (await cli("list")).split("\n");
  assert.deepEqual(list.filter((line) => line.startsWith("greeter ")).map((line) => line.split(/\s{2,}/).slice(0, 2)), [["greeter (failing)", "i-1"], ["greeter (failing)", "i-2"]]);
  assert.ok(list.some((line) => /^login\s+l2\s+127\.0\.0\.1:7202/.test(line)));
  assert.ok(list.includes(
    `greeter: configuration not updated since ${greeter.build.since} (revision ${failedAt}); clients keep the resources of revision ${startRevision}: ` +
      "services[greeter].instances[i-2].address: 127.0.0.1:7101 is also used by instance i-1; gRPC clients reject duplicate endpoints",
  ), list.join("\n"));
  const status = (await cli("status")).split("\n");
  assert.ok(status.includes(
    `services whose configuration is not being updated: greeter (since ${greeter.build.since}, revision ${failedAt}; clients keep the resources of revision ${startRevision}); see steadymesh list SERVICE for why`,
  ), status.join("\n"));
  assert.deepEqual(await failingGauge(), ['steadymesh_snapshot_service_failing{service="greeter"} 1']);

  // Fixed: greeter builds again, its clients get the change, and every sign of the failure is gone.
  assert.equal((await cp.api("PUT", "/v1/services/greeter/instances/i-2", { ...GREETER, port: 7102 })).status, 200);
  await untilEndpoints({ greeter: [7101, 7102], login: [7201, 7202] });
  assert.equal((await cp.api("GET", "/v1/services/greeter")).body.service.build, undefined);
  assert.deepEqual(await failingGauge(), []);
  assert.ok(!(await cli("list")).includes("failing"));
  assert.ok(!(await cli("status")).includes("not being updated"));
});
