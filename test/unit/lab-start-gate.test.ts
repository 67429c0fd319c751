import assert from "node:assert/strict";
import { test } from "node:test";
import { createStartGate } from "../../src/lab/runner/start-gate.js";

/** A start that finishes when the test says so. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("lab start gate - runs at most `limit` starts at once, the rest in the order they came", async () => {
  const gate = createStartGate(2);
  const starts = Array.from({ length: 5 }, () => deferred());
  const began: number[] = [];
  let running = 0;
  let most = 0;
  const results = starts.map((d, i) =>
    gate.run(async () => {
      began.push(i);
      most = Math.max(most, ++running);
      await d.promise;
      running -= 1;
      return i;
    }),
  );
  await turn();
  assert.deepEqual(began, [0, 1]);
  starts[1]!.resolve();
  await turn();
  // A newcomer arriving now must queue behind the waiters, not take the freed slot.
  const late = gate.run(async () => (began.push(99), 99));
  await turn();
  assert.deepEqual(began, [0, 1, 2]);
  for (const d of starts) d.resolve();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4]);
  assert.equal(await late, 99);
  assert.deepEqual(began, [0, 1, 2, 3, 4, 99]);
  assert.equal(most, 2);
});

test("lab start gate - a failed start passes its error on and frees its slot", async () => {
  const gate = createStartGate(1);
  const failing = gate.run(async () => {
    throw new Error("not ready in 20000 ms");
  });
  const next = gate.run(async () => "started");
  await assert.rejects(failing, /not ready in 20000 ms/);
  assert.equal(await next, "started");
});

test("lab start gate - refuses a limit that is not a positive integer", () => {
  assert.throws(() => createStartGate(0), /limit must be a positive integer, got 0/);
  assert.throws(() => createStartGate(1.5), /limit must be a positive integer, got 1.5/);
});
