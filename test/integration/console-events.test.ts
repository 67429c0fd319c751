import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CLUSTER_TYPE, loadCodec } from "../../src/proto/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { openEvents } from "../helpers/event-stream.js";
import { openRawAds } from "../helpers/raw-ads.js";

/**
 * The console's live events on a real serve (issue 20, contract B): read
 * over a socket with a Bearer token, a registration through the API shows as
 * a `registry` event within a second, a raw ADS NACK as a `nack` event with
 * its error_detail, and serve's close ends the stream.
 */
const codec = loadCodec();
let cp: TestControlPlane;

before(async () => {
  cp = await startControlPlane();
});

after(async () => {
  await cp.close();
});

test("console events - registry and NACK events reach a Bearer-authenticated /v1/events; close ends the stream", async () => {
  const refused = await fetch(`${cp.adminUrl}/v1/events`);
  assert.equal(refused.status, 401);
  const stream = await openEvents(cp.admin.port, cp.headers());
  try {
    assert.equal(stream.response.statusCode, 200);
    const hello = await stream.next("hello");
    assert.equal(typeof hello.revision, "number");

    const registered = Date.now();
    await cp.register("greeter", "g1", 7001);
    const registry = await stream.next("registry", 1000);
    assert.ok(Date.now() - registered < 1000, `the registry event came after ${Date.now() - registered} ms`);
    assert.deepEqual(registry.changes.at(-1), { kind: "instance-put", service: "greeter", id: "g1", health: "healthy" });

    const nacker = openRawAds(cp.xds.port, codec);
    try {
      nacker.send({ node: { id: "nack-client", cluster: "test", user_agent_name: "console-test" }, type_url: CLUSTER_TYPE, resource_names: ["greeter"] });
      const sent = await nacker.next();
      nacker.send({ type_url: CLUSTER_TYPE, resource_names: ["greeter"], version_info: "", response_nonce: sent.nonce, error_detail: { code: 3, message: "refused on purpose", details: [] } });
      const nack = await stream.next("nack");
      assert.equal(nack.nodeId, "nack-client");
      assert.equal(nack.type, "CDS");
      assert.deepEqual(nack.errorDetail, { code: 3, message: "refused on purpose" });
      const overview = await cp.api("GET", "/v1/overview");
      assert.equal(overview.body.nacksLastHour, 1);
      assert.equal(overview.body.clients.connected, 1);
    } finally {
      nacker.close();
    }

    const started = Date.now();
    await cp.close();
    await stream.ended;
    assert.ok(Date.now() - started < 5000, `serve closed in ${Date.now() - started} ms with a stream open`);
  } finally {
    stream.response.destroy();
  }
});
