import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createSilentLogger } from "../../src/log/index.js";
import { loadCodec, LISTENER_TYPE, ENDPOINT_TYPE } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { startSpine, type RegistryFeed } from "../../src/server/index.js";
import { SLICED_BURST, STEP_SERVICES } from "../../src/server/spine.js";
import { buildSnapshot, type Snapshot } from "../../src/snapshot/index.js";

const codec = loadCodec();

async function setup(minDelayMs = 10, maxDelayMs = 1000) {
  const clock = createFakeClock(1000);
  const registry = await createRegistry(createMemoryStore());
  const published: Snapshot[] = [];
  // The spine gets only the registry's feed (view and subscribe), never its writes.
  const feed: RegistryFeed = { view: () => registry.view(), subscribe: (fn) => registry.subscribe(fn) };
  const spine = startSpine({ registry: feed, codec, publish: (s) => published.push(s), clock, minDelayMs, maxDelayMs, logger: createSilentLogger() });
  return { clock, registry, published, spine };
}

test("spine - publishes the initial snapshot at start", async () => {
  const { published, spine } = await setup();
  assert.equal(published.length, 1);
  assert.equal(published[0]!.revision, 0);
  assert.equal(published[0]!.resources[LISTENER_TYPE].size, 0);
  spine.stop();
});

test("spine - a burst of writes within the coalescing window becomes one snapshot of the latest view", async () => {
  const { clock, registry, published, spine } = await setup(10);
  for (let i = 1; i <= 5; i++) await registry.putInstance("login", `i${i}`, { address: "127.0.0.1", port: 9000 + i });
  assert.equal(published.length, 1, "nothing is published before the window ends");
  clock.advance(9);
  assert.equal(published.length, 1);
  clock.advance(1);
  assert.equal(published.length, 2);
  const latest = published[1]!;
  assert.equal(latest.revision, registry.view().revision);
  assert.ok(latest.resources[ENDPOINT_TYPE].has("login"));
  spine.stop();
});

test("spine - each write restarts the quiet period: a steady trickle is pushed once, at the maximum delay", async () => {
  const { clock, registry, published, spine } = await setup(100, 1000);
  for (let i = 1; i <= 15; i++) {
    await registry.putInstance("login", `i${i}`, { address: "127.0.0.1", port: 9000 + i });
    clock.advance(80);
    if (i < 12) assert.equal(published.length, 1, `nothing before the max delay (write ${i}, t=${i * 80} ms)`);
  }
  // The first write was at t=0; the max delay (1000 ms) fires during the advance after write 12 (t=960..1040).
  assert.equal(published.length, 2, "one push at the max delay, none since (the quiet period restarted)");
  assert.equal(published[1]!.resources[ENDPOINT_TYPE].size, 1);
  clock.advance(100);
  assert.equal(published.length, 3, "the writes after the max-delay push go out once the quiet period ends");
  assert.equal(published[2]!.revision, registry.view().revision);
  spine.stop();
});

test("spine - a write after the window opens a new window", async () => {
  const { clock, registry, published, spine } = await setup(10);
  await registry.putInstance("login", "a", { address: "127.0.0.1", port: 9001 });
  clock.advance(10);
  await registry.putInstance("login", "b", { address: "127.0.0.1", port: 9002 });
  clock.advance(10);
  assert.equal(published.length, 3);
  assert.notEqual(published[1]!.version, published[2]!.version);
  spine.stop();
});

test("spine - stop cancels a pending build", async () => {
  const { clock, registry, published, spine } = await setup(10);
  await registry.putInstance("login", "a", { address: "127.0.0.1", port: 9001 });
  spine.stop();
  clock.advance(100);
  assert.equal(published.length, 1);
  assert.equal(clock.pending(), 0);
});

test("spine - a burst of SLICED_BURST changes or more is built in steps, giving the event loop turns; it publishes what one build of the view gives, and a rebuild() meanwhile supersedes it", async () => {
  const clock = createFakeClock(1000);
  const registry = await createRegistry(createMemoryStore());
  for (let s = 0; s < 400; s++) await registry.putInstance(`svc-${s}`, "i0", { address: `10.0.${s >> 8}.${s & 255}`, port: 8080 });
  const published: Snapshot[] = [];
  const steps: [Snapshot | undefined, Snapshot][] = [];
  const feed: RegistryFeed = { view: () => registry.view(), subscribe: (fn) => registry.subscribe(fn) };
  const spine = startSpine({ registry: feed, codec, publish: (s) => published.push(s), clock, minDelayMs: 10, maxDelayMs: 1000, logger: createSilentLogger(), prepare: (before, step) => steps.push([before, step]), sliceMs: 0 });
  for (let s = 0; s < SLICED_BURST * 5; s++) await registry.putInstance(`svc-${s}`, "i1", { address: `10.1.${s >> 8}.${s & 255}`, port: 8080 });
  clock.advance(10);
  assert.equal(published.length, 1, "not published in the timer's turn");
  let turns = 0;
  while (published.length === 1 && turns < 1000) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  assert.equal(published.length, 2);
  assert.ok(turns >= steps.length && steps.length >= 2, `${turns} turns of the event loop for ${steps.length} steps`);
  assert.equal(steps.length, Math.ceil((SLICED_BURST * 5) / STEP_SERVICES) - 1, "each step but the last is handed to prepare");
  assert.equal(steps[0]![0], published[0]);
  for (let k = 1; k < steps.length; k++) assert.equal(steps[k]![0], steps[k - 1]![1], "each step comes with the one before it");
  const whole = buildSnapshot(registry.view(), codec).snapshot;
  assert.equal(published[1]!.version, whole.version);
  assert.equal(published[1]!.revision, registry.view().revision);

  // Another large burst, and a rebuild() while its steps run: the rebuild publishes, the stepped build stops.
  for (let s = 0; s < SLICED_BURST * 5; s++) await registry.putInstance(`svc-${s}`, "i2", { address: `10.2.${s >> 8}.${s & 255}`, port: 8080 });
  clock.advance(10);
  await new Promise((resolve) => setImmediate(resolve));
  spine.rebuild();
  assert.equal(published.length, 3);
  for (let k = 0; k < 50; k++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(published.length, 3, "the superseded stepped build publishes nothing");
  assert.equal(published[2]!.version, buildSnapshot(registry.view(), codec).snapshot.version);
  spine.stop();
});
