import assert from "node:assert/strict";
import { test } from "node:test";
import { createRendezvousOwnership, rendezvousOwner } from "../../src/health/index.js";
import type { Members } from "../../src/registry/index.js";

const KEYS = Array.from({ length: 3000 }, (_, i) => `svc${i % 7}/i${i}`);

function owners(members: readonly string[]): Map<string, string | undefined> {
  return new Map(KEYS.map((key) => [key, rendezvousOwner(key, members)]));
}

test("health rendezvous - the same members give the same owner, whatever their order", () => {
  const first = owners(["a", "b", "c"]);
  assert.deepEqual(owners(["c", "a", "b"]), first);
  assert.deepEqual(owners(["a", "b", "c"]), first);
  assert.equal(rendezvousOwner("svc/x", []), undefined);
  assert.equal(rendezvousOwner("svc/x", ["only"]), "only");
});

test("health rendezvous - instances spread roughly evenly over the members", () => {
  const counts = new Map<string, number>();
  for (const owner of owners(["a", "b", "c"]).values()) counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), ["a", "b", "c"]);
  for (const [member, count] of counts) assert.ok(count > 800 && count < 1200, `${member} owns ${count} of 3000`);
});

test("health rendezvous - a member that leaves hands on only its own share; one that joins takes only from others", () => {
  const before = owners(["a", "b", "c"]);
  const after = owners(["a", "c"]);
  for (const key of KEYS) {
    if (before.get(key) === "b") assert.notEqual(after.get(key), "b");
    else assert.equal(after.get(key), before.get(key), `${key} moved though its owner stayed`);
  }
  const joined = owners(["a", "b", "c", "d"]);
  for (const key of KEYS) if (joined.get(key) !== "d") assert.equal(joined.get(key), before.get(key));
});

test("health rendezvous - ownership answers for the local member and tells subscribers when the members change", () => {
  let list: readonly string[] = ["a", "b"];
  const listeners = new Set<() => void>();
  const members: Members = {
    self: "a",
    list: () => list,
    onChange: (onChange) => (listeners.add(onChange), () => listeners.delete(onChange)),
  };
  const ownership = createRendezvousOwnership(members);
  const owned = KEYS.filter((key) => ownership.owns(...(key.split("/") as [string, string])));
  assert.deepEqual(owned, KEYS.filter((key) => rendezvousOwner(key, ["a", "b"]) === "a"));
  let changes = 0;
  const unsubscribe = ownership.subscribe(() => changes++);
  list = ["a"];
  for (const listener of listeners) listener();
  assert.equal(changes, 1);
  assert.ok(KEYS.every((key) => ownership.owns(...(key.split("/") as [string, string]))), "the last member owns everything");
  unsubscribe();
  assert.equal(listeners.size, 0);
});
