import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedMap } from "../../src/collections/index.js";
import { createRng } from "../../src/lab/workload/rng.js";

function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

test("sorted map - 2,000 seeded random edits: each version equals a plain Map of the same edits, iterates in key order, and older versions never change", () => {
  const random = createRng(15);
  const key = () => `k${Math.floor(random() * 300)}`;
  const versions: { map: SortedMap<number>; model: [string, number][] }[] = [];
  let map = SortedMap.empty<number>();
  const model = new Map<string, number>();
  for (let step = 0; step < 2000; step++) {
    const changes: [string, number | undefined][] = Array.from({ length: 1 + Math.floor(random() * 4) }, () => [key(), random() < 0.3 ? undefined : step]);
    for (const [k, v] of changes) if (v === undefined) model.delete(k); else model.set(k, v);
    map = map.with(changes);
    assert.equal(map.size, model.size);
    if (step % 50 === 0) versions.push({ map, model: sortedEntries(model) });
  }
  assert.deepEqual([...map], sortedEntries(model));
  assert.deepEqual([...map.keys()], sortedEntries(model).map(([k]) => k));
  for (const { map: old, model: expected } of versions) assert.deepEqual([...old.entries()], expected, "an older version changed");
});

test("sorted map - diffFrom reports exactly the added, removed and changed keys, against a version many edits back", () => {
  const random = createRng(7);
  let map = SortedMap.of(Array.from({ length: 5000 }, (_, i) => [`svc-${i}`, { n: i }] as const));
  const before = map;
  const expected = { added: new Set<string>(), removed: new Set<string>(), changed: new Set<string>() };
  for (let i = 0; i < 40; i++) {
    const k = `svc-${Math.floor(random() * 6000)}`;
    if (random() < 0.3) map = map.delete(k);
    else map = map.set(k, { n: -i });
  }
  for (const [k, v] of map) {
    if (!before.has(k)) expected.added.add(k);
    else if (before.get(k) !== v) expected.changed.add(k);
  }
  for (const k of before.keys()) if (!map.has(k)) expected.removed.add(k);
  const seen = { added: new Set<string>(), removed: new Set<string>(), changed: new Set<string>() };
  map.diffFrom(before, {
    added: (k, v) => (assert.equal(v, map.get(k)), seen.added.add(k)),
    removed: (k, v) => (assert.equal(v, before.get(k)), seen.removed.add(k)),
    changed: (k, was, is) => (assert.equal(was, before.get(k)), assert.equal(is, map.get(k)), seen.changed.add(k)),
  });
  assert.deepEqual(seen, expected);
  assert.ok(expected.added.size + expected.removed.size + expected.changed.size > 10, "the edits changed something");
  let calls = 0;
  map.diffFrom(map, { added: () => calls++, removed: () => calls++, changed: () => calls++ });
  assert.equal(calls, 0);
});

test("sorted map - with() of nothing new returns the same map; entriesFrom pages in key order", () => {
  const value = { x: 1 };
  const map = SortedMap.of([["b", value], ["a", value], ["c", value]]);
  assert.equal(map.with([["a", value], ["zz", undefined]]), map);
  assert.notEqual(map.set("a", { x: 1 }), map);
  assert.deepEqual([...map.entriesFrom("b")].map(([k]) => k), ["b", "c"]);
  assert.deepEqual([...map.entriesFrom("b", true)].map(([k]) => k), ["c"]);
  assert.deepEqual([...map.entriesFrom("bb")].map(([k]) => k), ["c"]);
  assert.ok(Object.isFrozen(map));
  assert.equal(SortedMap.from(map), map);
  assert.deepEqual([...SortedMap.from(new Map([["z", 1], ["y", 2]]))], [["y", 2], ["z", 1]]);
});
