import assert from "node:assert/strict";
import { test } from "node:test";
import { createGroupCommit, type ItemOutcome } from "../../src/registry/stores/group-commit.js";

test("group commit - items submitted in one turn share a batch; an item's error fails only that item; batches hold at most maxBatch, in order", async () => {
  const batches: number[][] = [];
  const group = createGroupCommit((items: readonly number[]): ItemOutcome<string>[] => {
    batches.push([...items]);
    return items.map((n) => (n === 3 ? { ok: false, error: new Error("three") } : { ok: true, value: `v${n}` }));
  }, 4);
  const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => group.submit(n)));
  assert.deepEqual(batches, [[1, 2, 3, 4], [5, 6]]);
  assert.deepEqual(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)), ["v1", "v2", "three", "v4", "v5", "v6"]);
  assert.deepEqual(group.stats(), { batches: 2, items: 6 });
  await group.submit(7);
  assert.deepEqual(batches.at(-1), [7], "a lone item is written on the next turn by itself");
});

test("group commit - a batch whose write throws rejects every item of it, and the next batch is written", async () => {
  let fail = true;
  const group = createGroupCommit((items: readonly string[]): ItemOutcome<string>[] => {
    if (fail) throw new Error("disk full");
    return items.map((value) => ({ ok: true, value }));
  }, 10);
  const first = await Promise.allSettled(["a", "b"].map((item) => group.submit(item)));
  assert.deepEqual(first.map((r) => r.status), ["rejected", "rejected"]);
  fail = false;
  assert.equal(await group.submit("c"), "c");
});

test("group commit - nothing is acknowledged before its batch is written; flush writes what is queued now", async () => {
  const written: string[] = [];
  const group = createGroupCommit((items: readonly string[]): ItemOutcome<string>[] => items.map((value) => (written.push(value), { ok: true, value })), 10);
  let acked = false;
  const pending = group.submit("x").then(() => (acked = true));
  await Promise.resolve();
  assert.equal(acked, false);
  assert.deepEqual(written, []);
  group.flush();
  assert.deepEqual(written, ["x"]);
  await pending;
  assert.equal(acked, true);
});
