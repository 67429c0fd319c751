import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor, WaitForTimeoutError } from "../helpers/wait-for.js";

// Here rather than in test/unit: waitFor runs on real time (one case below waits its 1 s probe budget).

/** A probe that answers with each of `steps` in turn (a function step throws), then with the last one forever. */
function scripted<T>(steps: Array<T | (() => never)>): { probe: () => Promise<T>; calls(): number } {
  let calls = 0;
  return {
    async probe() {
      const step = steps[Math.min(calls++, steps.length - 1)]!;
      return typeof step === "function" ? (step as () => never)() : step;
    },
    calls: () => calls,
  };
}

const refused = (): never => {
  throw new Error("connect ECONNREFUSED 127.0.0.1:1");
};

test("waitFor - resolves with the first value `until` accepts, probing again after values and errors it does not", async () => {
  const probe = scripted<{ state: string }>([refused, { state: "starting" }, { state: "ready" }, { state: "late" }]);
  const value = await waitFor("the job to be ready", probe.probe, { until: (v) => v.state === "ready", intervalMs: 0 });
  assert.deepEqual(value, { state: "ready" });
  assert.equal(probe.calls(), 3);
});

test("waitFor - a predicate probe: waits until it returns true", async () => {
  const probe = scripted([false, false, true]);
  assert.equal(await waitFor("the flag", probe.probe, { intervalMs: 0 }), true);
  assert.equal(probe.calls(), 3);
});

test("waitFor - fails after the timeout, naming what it waited for and the last value seen", async () => {
  const probe = scripted([{ state: "pending", tries: 1 }]);
  await assert.rejects(waitFor("the job to finish", probe.probe, { until: (v) => v.state === "done", timeoutMs: 0 }), (err: unknown) => {
    assert.ok(err instanceof WaitForTimeoutError);
    assert.equal(err.message, "timed out after 0 ms waiting for the job to finish; last value: { state: 'pending', tries: 1 }");
    return true;
  });
});

test("waitFor - fails after the timeout with the last error seen, as message and cause, and the caller's detail", async () => {
  const probe = scripted<number>([1, refused]);
  const detail = () => "server stderr: listen EADDRINUSE";
  const failure = await waitFor("the server", probe.probe, { until: (v) => v > 1, timeoutMs: 30, intervalMs: 1, detail }).then(
    () => assert.fail("resolved without an accepted value"),
    (err: unknown) => err,
  );
  assert.ok(failure instanceof WaitForTimeoutError);
  assert.equal(failure.message, "timed out after 30 ms waiting for the server; last error: connect ECONNREFUSED 127.0.0.1:1\nserver stderr: listen EADDRINUSE");
  assert.match(String((failure.cause as Error).message), /ECONNREFUSED/);
  assert.ok(probe.calls() >= 2);
});

test("waitFor - a probe that never settles fails once its budget is spent, and says so", async () => {
  const never = () => new Promise<boolean>(() => {});
  await assert.rejects(waitFor("a hung probe", never, { timeoutMs: 0 }), {
    name: "WaitForTimeoutError",
    message: "timed out after 0 ms waiting for a hung probe; the last probe had not finished; no probe finished",
  });
});

test("waitFor - an aborted signal ends the wait at once with its reason", async () => {
  const controller = new AbortController();
  const exited = new Error("the process exited");
  let calls = 0;
  const probe = () => {
    if (++calls === 2) controller.abort(exited);
    return false;
  };
  await assert.rejects(waitFor("a process that exits", probe, { timeoutMs: 60_000, intervalMs: 10, signal: controller.signal }), (err) => err === exited);
  assert.equal(calls, 2);
});
