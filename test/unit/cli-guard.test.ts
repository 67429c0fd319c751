/**
 * `register` and `deregister` say when the push guard holds or rejects the
 * generation built from their write: against a real control plane (registry,
 * spine, guard; memory store, 10 ms push delay unless a test says otherwise),
 * and, for the cases a live server cannot stage on cue, over a fake admin
 * client and a fake clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import type { AdminClient, AdminMethod } from "../../src/cli/admin-client.js";
import { guardOutcome } from "../../src/cli/guard-outcome.js";
import { main } from "../../src/cli/index.js";
import type { Generation } from "../../src/guard/index.js";
import { SERVE_DEFAULTS } from "../../src/server/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { capture } from "../helpers/io.js";

async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function withPlane(test: (plane: TestControlPlane) => Promise<void>, overrides: Parameters<typeof startControlPlane>[0] = {}): Promise<void> {
  const plane = await startControlPlane(overrides);
  try {
    await test(plane);
  } finally {
    await plane.close();
  }
}

const register = (plane: TestControlPlane, id: string, port: number) =>
  run(["register", "greeter", "--address", "127.0.0.1", "--port", String(port), "--id", id, ...plane.cliArgs]);
const deregister = (plane: TestControlPlane, id: string) => run(["deregister", "greeter", id, ...plane.cliArgs]);
/** The generation a line names (`held in generation N`), which the guard must have as held from `revision`. */
function heldGeneration(plane: TestControlPlane, line: string, revision: number): Generation {
  const id = Number(/; held in generation (\d+)/.exec(line)?.[1]);
  const generation = plane.guard.get(id);
  assert.deepEqual([generation?.status, generation?.revision], ["held", revision], line);
  return generation!;
}

describe("cli guard outcome against a live control plane", () => {
  it("cli guard - deregistering the last endpoint prints the hold, its generation and how to approve; a pushed change prints nothing more", async () => {
    await withPlane(async (plane) => {
      assert.equal((await register(plane, "a", 50051)).code, 0);
      assert.equal((await register(plane, "b", 50052)).code, 0);
      const first = await deregister(plane, "a");
      assert.deepEqual(first, { code: 0, stdout: `deregistered greeter/a (revision 3)\n`, stderr: "" });
      const last = await deregister(plane, "b");
      assert.match(last.stdout, /^deregistered greeter\/b \(revision 4\); held in generation \d+: /);
      const held = heldGeneration(plane, last.stdout, 4);
      assert.deepEqual(last, {
        code: 0,
        stdout:
          `deregistered greeter/b (revision 4); held in generation ${held.id}: leaves greeter with no endpoints (it had 1) — ` +
          `see 'steadymesh generations', approve with 'steadymesh approve ${held.id}'\n`,
        stderr: "",
      });
      // Back to what clients have: the hold is moot, no generation comes, and after the wait nothing more is printed.
      assert.deepEqual(await register(plane, "b", 50052), { code: 0, stdout: "registered greeter/b at 127.0.0.1:50052 (revision 5)\n", stderr: "" });
    });
  });

  it("cli guard - a register held because a rollback pinned the guard says so", async () => {
    await withPlane(async (plane) => {
      await register(plane, "a", 50051);
      await register(plane, "b", 50052);
      const target = plane.guard.list().find((g) => g.status === "pushed" && g.revision === 1)!;
      assert.equal((await run(["rollback", String(target.id), ...plane.cliArgs])).code, 0);
      const result = await register(plane, "c", 50053);
      assert.match(result.stdout, /^registered greeter\/c at 127\.0\.0\.1:50053 \(revision 3\); held in generation \d+: pinned/);
      const held = heldGeneration(plane, result.stdout, 3);
      assert.equal(
        result.stdout,
        `registered greeter/c at 127.0.0.1:50053 (revision 3); held in generation ${held.id}: pinned to generation ${held.id - 1} (a rollback to generation ${target.id}); ` +
          `approve a generation to resume pushes — see 'steadymesh generations', approve with 'steadymesh approve ${held.id}'\n`,
      );
    });
  });

  it("cli guard - two writes in one push window: the first names the generation that carries both, with later changes", async () => {
    await withPlane(
      async (plane) => {
        await register(plane, "a", 50051);
        await register(plane, "b", 50052);
        const [first, second] = await Promise.all([deregister(plane, "a"), deregister(plane, "b")]);
        const lines = [first!.stdout, second!.stdout].sort();
        assert.match(lines[0]!, /^deregistered greeter\/a \(revision 3\); held in generation \d+ \(revision 4, with later changes\): /);
        const held = heldGeneration(plane, lines[0]!, 4);
        const tail = `: leaves greeter with no endpoints (it had 2) — see 'steadymesh generations', approve with 'steadymesh approve ${held.id}'\n`;
        assert.deepEqual(lines, [
          `deregistered greeter/a (revision 3); held in generation ${held.id} (revision 4, with later changes)${tail}`,
          `deregistered greeter/b (revision 4); held in generation ${held.id}${tail}`,
        ].sort());
      },
      { pushMinDelayMs: 300, pushMaxDelayMs: 1000 },
    );
  });

  it("cli guard - with --no-guard a wipe-out is pushed and nothing more is printed; --wait-ms 0 does not ask", async () => {
    await withPlane(
      async (plane) => {
        await register(plane, "a", 50051);
        assert.deepEqual(await deregister(plane, "a"), { code: 0, stdout: "deregistered greeter/a (revision 2)\n", stderr: "" });
        assert.equal(plane.guard.list().at(-1)?.status, "pushed");
        const quick = await run(["register", "greeter", "--address", "127.0.0.1", "--port", "1", "--id", "q", "--wait-ms", "0", ...plane.cliArgs]);
        assert.deepEqual(quick, { code: 0, stdout: "registered greeter/q at 127.0.0.1:1 (revision 3)\n", stderr: "" });
      },
      { guard: { ...SERVE_DEFAULTS.guard, enabled: false } },
    );
  });

  it("cli guard - register --address with an address clients cannot use gets the server's one-line error, naming the flag", async () => {
    await withPlane(async (plane) => {
      const result = await run(["register", "greeter", "--address", "::ffff:10.0.0.1", "--port", "50051", ...plane.cliArgs]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^steadymesh: error: --address: "::ffff:10\.0\.0\.1" is an IPv4-mapped IPv6 address; register 10\.0\.0\.1 instead; allowed: a unicast IPv4 or IPv6 address clients can connect to \(.*\)\n$/);
      assert.equal(plane.guard.list().length, 1);
    });
  });
});

function generation(fields: Partial<Generation> & Pick<Generation, "id" | "revision" | "status">): Generation {
  const types = { LDS: { added: [], removed: [], changed: [] }, RDS: { added: [], removed: [], changed: [] }, CDS: { added: [], removed: [], changed: [] }, EDS: { added: [], removed: [], changed: [] } };
  return { createdAt: "2024-01-01T00:00:00.000Z", version: `v${fields.id}`, diff: { types, endpoints: {} }, reason: "", problems: [], source: "registry", history: [], ...fields };
}

/** An AdminClient whose GET /v1/generations answers from `lists`, one list per call (the last one repeats). */
function fakeClient(lists: readonly (readonly Generation[] | Error)[]): AdminClient & { readonly calls: number } {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async request<T>(method: AdminMethod, path: string): Promise<T> {
      assert.equal(`${method} ${path}`, "GET /v1/generations?limit=20");
      const answer = lists[Math.min(calls++, lists.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return { generations: answer } as T;
    },
  };
}

describe("cli guard outcome over a fake admin API", () => {
  const pushed = generation({ id: 1, revision: 1, status: "pushed" });

  it("cli guard - polls until a generation covers the write, and gives up quietly at the deadline", async () => {
    const clock = createFakeClock();
    const client = fakeClient([[pushed], [pushed], [pushed, generation({ id: 2, revision: 2, status: "rejected", reason: "rejected: 1 problem a stock client would NACK; first: CDS/x: bad" })]]);
    const outcome = guardOutcome(client, 2, 2000, clock);
    while (client.calls < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(100);
    }
    assert.equal(await outcome, "; rejected in generation 2: 1 problem a stock client would NACK; first: CDS/x: bad; clients keep the last pushed generation — see 'steadymesh generations'");

    const never = fakeClient([[pushed]]);
    let settled = false;
    const quiet = guardOutcome(never, 5, 1000, clock).finally(() => (settled = true));
    for (let i = 0; i < 50 && !settled; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(100);
    }
    assert.equal(await quiet, "");
    // At 0, 100, …, 1000 ms: the last look is at the deadline.
    assert.equal(never.calls, 11);
  });

  it("cli guard - a superseded hold is followed to the newer generation; no generations or a failed read add nothing", async () => {
    const clock = createFakeClock();
    const held = generation({ id: 2, revision: 2, status: "held", reason: "held: x", supersededBy: 3 });
    assert.equal(await guardOutcome(fakeClient([[pushed, held, generation({ id: 3, revision: 3, status: "pushed" })]]), 2, 2000, clock), "");
    assert.equal(
      await guardOutcome(fakeClient([[pushed, held, generation({ id: 3, revision: 3, status: "held", reason: "held: y" })]]), 2, 2000, clock),
      "; held in generation 3 (revision 3, with later changes): y — see 'steadymesh generations', approve with 'steadymesh approve 3'",
    );
    assert.equal(await guardOutcome(fakeClient([[held]]), 2, 2000, clock), "; held in generation 2, since superseded by generation 3 — see 'steadymesh generations'");
    // Superseded by the generation clients already have: the registry went back to it.
    assert.equal(await guardOutcome(fakeClient([[pushed, { ...held, supersededBy: 1 }]]), 2, 2000, clock), "");
    assert.equal(await guardOutcome(fakeClient([[]]), 2, 2000, clock), "");
    assert.equal(await guardOutcome(fakeClient([new Error("404")]), 2, 2000, clock), "");
  });
});
