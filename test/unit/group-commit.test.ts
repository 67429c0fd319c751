import assert from "node:assert/strict";
import { test } from "node:test";
import { createAsyncGroupCommit, createGroupCommit, type ItemOutcome } from "../../src/registry/stores/group-commit.js";

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

/** A write the test finishes by hand: each call waits until `release` is called for it. */
function heldWrites<T>() {
  const calls: { items: T[]; finish: (outcomes: ItemOutcome<string>[] | Error) => void }[] = [];
  const write = (items: readonly T[]) =>
    new Promise<ItemOutcome<string>[]>((resolve, reject) => {
      calls.push({ items: [...items], finish: (outcomes) => (outcomes instanceof Error ? reject(outcomes) : resolve(outcomes)) });
    });
  return { calls, write };
}

/** Lets setImmediate callbacks and the promise jobs after them run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

test("async group commit - one batch in flight; what arrives meanwhile is the next batch; nothing resolves before its write does", async () => {
  const held = heldWrites<number>();
  const group = createAsyncGroupCommit(held.write, 100);
  const acked: number[] = [];
  const first = [1, 2, 3].map((n) => group.submit(n).then(() => acked.push(n)));
  await turn();
  assert.deepEqual(held.calls.map((c) => c.items), [[1, 2, 3]]);
  const second = [4, 5].map((n) => group.submit(n).then(() => acked.push(n)));
  await turn();
  assert.equal(held.calls.length, 1, "no second write while the first is in flight");
  assert.deepEqual(acked, []);
  held.calls[0]!.finish([1, 2, 3].map((n) => ({ ok: true, value: `v${n}` })));
  await Promise.all(first);
  await turn();
  assert.deepEqual(held.calls.map((c) => c.items), [[1, 2, 3], [4, 5]]);
  assert.deepEqual(acked, [1, 2, 3]);
  held.calls[1]!.finish([{ ok: true, value: "v4" }, { ok: false, error: new Error("five") }]);
  await Promise.allSettled(second);
  assert.deepEqual(acked, [1, 2, 3, 4]);
  assert.deepEqual(group.stats(), { batches: 2, items: 5 });
});

test("async group commit - items a write gives no outcome for go to the front of the next batch; a write that rejects fails its items only", async () => {
  const held = heldWrites<string>();
  const group = createAsyncGroupCommit(held.write, 100);
  const results = ["a", "b", "c"].map((item) => group.submit(item));
  await turn();
  const late = group.submit("d");
  held.calls[0]!.finish([{ ok: true, value: "A" }]);
  assert.equal(await results[0], "A");
  await turn();
  assert.deepEqual(held.calls.map((c) => c.items), [["a", "b", "c"], ["b", "c", "d"]]);
  held.calls[1]!.finish(new Error("etcd down"));
  const failed = await Promise.allSettled([results[1]!, results[2]!, late]);
  assert.deepEqual(failed.map((r) => r.status === "rejected" && (r.reason as Error).message), ["etcd down", "etcd down", "etcd down"]);
  const after = group.submit("e");
  await turn();
  held.calls[2]!.finish([{ ok: true, value: "E" }]);
  assert.equal(await after, "E");
});
