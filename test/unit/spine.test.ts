import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createSilentLogger } from "../../src/log/index.js";
import { loadCodec, LISTENER_TYPE, ENDPOINT_TYPE } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { startSpine, type RegistryFeed } from "../../src/server/index.js";
import type { Snapshot } from "../../src/snapshot/index.js";

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
