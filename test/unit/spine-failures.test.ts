/**
 * The spine with a service whose configuration does not build: every build
 * is still published (the others' changes go out), and the failing service
 * is tracked from its first failing build until it builds again, with one
 * warn line, one info line and a gauge per service.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createMetrics } from "../../src/metrics/index.js";
import { ENDPOINT_TYPE, loadCodec } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { startSpine } from "../../src/server/index.js";
import { buildSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { entry, view } from "../helpers/registry-view.js";
import { putInstance } from "./store-contract.js";

const codec = loadCodec();

interface LogLine {
  level: number;
  msg: string;
  service?: string;
}

async function setup(initial?: Snapshot) {
  const clock = createFakeClock(Date.parse("2024-05-01T10:00:00.000Z"));
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  await registry.putInstance("greeter", "g1", { address: "10.0.0.9", port: 8080 });
  await registry.putInstance("login", "l1", { address: "10.0.0.1", port: 7001 });
  const lines: LogLine[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  const metrics = createMetrics({ processMetrics: false });
  const published: Snapshot[] = [];
  const spine = startSpine({ registry, codec, publish: (s) => published.push(s), clock, minDelayMs: 10, maxDelayMs: 1000, logger, metrics, initial });
  /** Writes straight to the store (no unique-endpoint check), as data from before the check or another writer could. */
  const duplicate = () => store.commit([putInstance("greeter", "g2", { address: "10.0.0.9", port: 8080 })]);
  const gauge = async () => (await metrics.registry.getSingleMetric("steadymesh_snapshot_service_failing")!.get()).values.map((v) => [v.labels.service, v.value]);
  const latest = () => published.at(-1)!;
  return { clock, registry, spine, lines, published, duplicate, gauge, latest };
}

function ports(snapshot: Snapshot, name: string): number[] {
  const body = snapshot.resources[ENDPOINT_TYPE].get(name)?.body;
  assert.ok(body, `EDS ${name} missing`);
  return codec.decodeResource(ENDPOINT_TYPE, body).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? -1));
}

test("spine - a service that stops building keeps its resources while others' changes are published; tracked until it builds again", async () => {
  const s = await setup();
  const good = s.latest();
  const goodRevision = s.registry.view().revision;
  await s.duplicate();
  const failingRevision = s.registry.view().revision;
  s.clock.advance(10);
  await s.registry.putInstance("login", "l2", { address: "10.0.0.2", port: 7002 });
  s.clock.advance(10);
  await s.registry.putInstance("login", "l3", { address: "10.0.0.3", port: 7003 });
  s.clock.advance(10);

  assert.equal(s.published.length, 4, "every build is published");
  assert.deepEqual(ports(s.latest(), "login"), [7001, 7002, 7003]);
  assert.equal(s.latest().resources[ENDPOINT_TYPE].get("greeter"), good.resources[ENDPOINT_TYPE].get("greeter"), "greeter keeps its last good EDS");
  assert.deepEqual(s.spine.failures(), [{
    service: "greeter", status: "failing", since: "2024-05-01T10:00:00.010Z", sinceRevision: failingRevision, servedRevision: goodRevision,
    problems: [{ path: "services[greeter].instances[g2].address", message: "10.0.0.9:8080 is also used by instance g1; gRPC clients reject duplicate endpoints" }],
  }]);
  assert.equal(s.spine.failure("greeter")?.sinceRevision, failingRevision);
  assert.equal(s.spine.failure("login"), undefined);
  assert.deepEqual(await s.gauge(), [["greeter", 1]]);
  const warns = s.lines.filter((l) => l.level === 40);
  assert.equal(warns.length, 1, "one warn line when it starts failing, not one per build");
  assert.equal(warns[0]?.service, "greeter");
  assert.match(warns[0]?.msg ?? "", new RegExp(`service greeter does not build; its clients keep the resources built from revision ${goodRevision}`));

  await s.registry.deleteInstance("greeter", "g2");
  s.clock.advance(10);
  assert.deepEqual(s.spine.failures(), []);
  assert.deepEqual(await s.gauge(), [], "the gauge series is removed");
  const infos = s.lines.filter((l) => l.level === 30 && l.service === "greeter");
  assert.equal(infos.length, 1);
  assert.match(infos[0]?.msg ?? "", /service greeter builds again/);
  assert.notEqual(s.latest().resources[ENDPOINT_TYPE].get("greeter"), good.resources[ENDPOINT_TYPE].get("greeter"), "rebuilt");
  assert.deepEqual(ports(s.latest(), "greeter"), [8080]);
  s.spine.stop();
});

test("spine - a service failing at the first build keeps what the initial snapshot (the restored generation) has for it", async () => {
  const restored = buildSnapshot(view(1, [entry("greeter", [{ id: "g1", address: "10.0.0.9" }])]), codec).snapshot;
  const store = createMemoryStore();
  await store.commit([putInstance("greeter", "g1", { address: "10.0.0.9" }), putInstance("greeter", "g2", { address: "10.0.0.9" }), putInstance("login", "l1")]);
  const registry = await createRegistry(store);
  const published: Snapshot[] = [];
  const spine = startSpine({
    registry, codec, publish: (s) => published.push(s), clock: createFakeClock(0), minDelayMs: 10, maxDelayMs: 1000, logger: pino({ level: "silent" }), initial: restored,
  });
  assert.equal(published[0]?.resources[ENDPOINT_TYPE].get("greeter"), restored.resources[ENDPOINT_TYPE].get("greeter"));
  assert.ok(published[0]?.resources[ENDPOINT_TYPE].has("login"));
  assert.equal(spine.failure("greeter")?.servedRevision, 1);
  spine.stop();
});

test("spine - a service bad from its first build has no resources and no servedRevision; deleting it ends the failure", async () => {
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  const lines: LogLine[] = [];
  const clock = createFakeClock(0);
  const published: Snapshot[] = [];
  const spine = startSpine({
    registry, codec, publish: (s) => published.push(s), clock, minDelayMs: 10, maxDelayMs: 1000, logger: pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) }),
  });
  await store.commit([putInstance("cart", "c1", { address: "10.0.0.5" }), putInstance("cart", "c2", { address: "10.0.0.5" })]);
  clock.advance(10);
  assert.equal(published.at(-1)?.resources[ENDPOINT_TYPE].has("cart"), false);
  const failure = spine.failure("cart");
  assert.ok(failure && !("servedRevision" in failure), JSON.stringify(failure));
  assert.match(lines.find((l) => l.level === 40)?.msg ?? "", /its clients keep no resources for it/);
  await registry.deleteService("cart");
  clock.advance(10);
  assert.deepEqual(spine.failures(), []);
  assert.match(lines.find((l) => l.level === 30 && l.service === "cart")?.msg ?? "", /no longer failing: the service left the registry/);
  spine.stop();
});
