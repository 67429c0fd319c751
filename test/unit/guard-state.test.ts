import assert from "node:assert/strict";
import { test } from "node:test";
import { build, entry, addresses } from "./guard-fixtures.js";
import type { Canary } from "../../src/guard/canary.js";
import { heldOf, settledState, stepOf, type Served } from "../../src/guard/guard-state.js";
import type { Generation } from "../../src/guard/model.js";

const snapshot = build(1, [entry("greeter", addresses(1, 2))]);

function gen(id: number, fields: Partial<Generation> = {}): Generation {
  return { id, revision: id, createdAt: "", version: `v${id}`, status: "held", diff: { types: {} as Generation["diff"]["types"], endpoints: {} }, reason: "", problems: [], source: "registry", history: [], ...fields };
}

const served: Served = { gen: gen(1, { status: "pushed" }), snapshot };
const canary: Canary = { generation: 3, onReply: () => undefined, end: () => undefined };

/** A drain timer that records whether it was cancelled. */
function timer(): { cancel: () => void; cancelled: () => boolean } {
  let cancelled = false;
  return { cancel: () => void (cancelled = true), cancelled: () => cancelled };
}

test("guard state - no hold and no canary is idle, and a drain timer with nothing to drain is cancelled", () => {
  const t = timer();
  const state = settledState(served, undefined, undefined, t.cancel);
  assert.equal(state.kind, "idle");
  assert.equal(stepOf(state), undefined);
  assert.ok(t.cancelled());
});

test("guard state - a hold with a drain timer is draining; without one it is holding", () => {
  const t = timer();
  const draining = settledState(served, gen(2), undefined, t.cancel);
  assert.deepEqual([draining.kind, heldOf(draining), stepOf(draining) === t.cancel, t.cancelled()], ["draining", 2, true, false]);
  const holding = settledState(served, gen(2));
  assert.deepEqual([holding.kind, heldOf(holding)], ["holding", 2]);
});

test("guard state - a hold a canary NACKed never drains: its timer is cancelled", () => {
  const t = timer();
  const nack = { at: "", nodeId: "c1", streamId: "s", type: "EDS", errorDetail: { code: 3, message: "bad" } };
  const state = settledState(served, gen(2, { nack }), undefined, t.cancel);
  assert.deepEqual([state.kind, heldOf(state)], ["holding", 2]);
  assert.ok(t.cancelled());
});

test("guard state - a canary keeps a hold and its drain timer beside it", () => {
  const t = timer();
  const state = settledState(served, gen(2), canary, t.cancel);
  assert.equal(state.kind, "canary");
  assert.deepEqual([heldOf(state), stepOf(state) === t.cancel, t.cancelled()], [2, true, false]);
  const alone = settledState(served, undefined, canary);
  assert.deepEqual([alone.kind, heldOf(alone), stepOf(alone)], ["canary", undefined, undefined]);
});
