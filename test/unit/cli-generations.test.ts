/**
 * `steadymesh generations`, `approve` and `rollback` against a live admin API
 * (real HTTP on a loopback port) over a fake push guard.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { describeChanges } from "../../src/cli/commands/generations.js";
import { main } from "../../src/cli/index.js";
import type { GenerationControl } from "../../src/guard/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations, STORE_DOWN, type FakeGenerations } from "./generation-fixtures.js";

async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function assertOneLineError(result: { code: number; stdout: string; stderr: string }, expected: string | RegExp): void {
  assert.notEqual(result.code, 0, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^steadymesh: error: [^\n]+\n$/, result.stderr);
  const message = result.stderr.slice("steadymesh: error: ".length, -1);
  if (typeof expected === "string") assert.equal(message, expected);
  else assert.match(message, expected);
}

describe("cli - generations", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  let generations: FakeGenerations;
  // The admin API reads whichever fake the current test set up.
  const control: GenerationControl = {
    list: () => generations.list(),
    get: (id) => generations.get(id),
    approve: (id) => generations.approve(id),
    rollback: (id) => generations.rollback(id),
  };

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: control });
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
  });
  beforeEach(() => {
    generations = createFakeGenerations();
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("cli - generations prints a table with compact changes, and problems and canary NACKs under their row", async () => {
    const result = await run(["generations", "--admin", url]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.split("\n"), [
      "ID  STATUS    REVISION  CREATED                   CHANGES                                    REASON",
      "1   pushed    2         2024-01-01T00:01:00.000Z  LDS +3 RDS +3 CDS +3 EDS +3; greeter 0→10  -",
      "2   pushed    4         2024-01-01T00:02:00.000Z  EDS ~1; login 2→3                          -",
      "3   held      6         2024-01-01T00:03:00.000Z  LDS -2 CDS -2 EDS ~1; greeter 10→1         held: removes 9 of 10 endpoints of greeter (90% > 50%)",
      "  LDS: removes 2 of 3 listeners (67% > 50%)",
      "  EDS/greeter: removes 9 of 10 endpoints of greeter (90% > 50%)",
      "4   rejected  8         2024-01-01T00:04:00.000Z  CDS ~1                                     rejected: stock clients would NACK it",
      "  CDS/login: lb_policy: must be ROUND_ROBIN or RING_HASH",
      "5   held      10        2024-01-01T00:05:00.000Z  EDS ~1                                     held: canary canary-1 NACKed EDS",
      "  NACK from canary-1 (EDS, stream s4) at 2024-01-01T00:05:30.000Z: INVALID_ARGUMENT: endpoints[0].port: must be 1-65535",
      "6   canary    12        2024-01-01T00:06:00.000Z  RDS ~1                                     canary: baking on 1 client until 2024-01-01T00:06:30.000Z",
      "",
    ]);
  });

  it("cli - generations --status and --limit filter on the server; --json prints the API's answer", async () => {
    const held = await run(["generations", "--status", "held", "--limit", "1", "--json", "--admin", url]);
    assert.equal(held.code, 0, held.stderr);
    assert.deepEqual(JSON.parse(held.stdout), (await admin.inject("/v1/generations?status=held&limit=1")).json());
    assert.deepEqual(JSON.parse(held.stdout).generations.map((g: { id: number }) => g.id), [5]);
    const table = await run(["generations", "--limit", "2", "--admin", url]);
    assert.deepEqual(table.stdout.split("\n").map((line) => line.split(" ")[0]), ["ID", "5", "", "6", ""]);
  });

  it("cli - generations says so when there are none", async () => {
    assert.deepEqual(await run(["generations", "--status", "rolled-back", "--admin", url]), { code: 0, stdout: "no rolled-back generations\n", stderr: "" });
    generations = createFakeGenerations([]);
    assert.deepEqual(await run(["generations", "--admin", url]), { code: 0, stdout: "no generations yet\n", stderr: "" });
  });

  it("cli - approve prints the transition; approving it again is the server's 409 as one line", async () => {
    assert.deepEqual(await run(["approve", "3", "--admin", url]), { code: 0, stdout: "generation 3: held → pushed (approved)\n", stderr: "" });
    assertOneLineError(await run(["approve", "3", "--admin", url]), "generation 3 is pushed; only a held generation can be approved");
    assertOneLineError(await run(["approve", "42", "--admin", url]), "generation 42 not found; 'steadymesh generations' lists them");
    assert.deepEqual(generations.calls, ["approve 3", "approve 3", "approve 42"]);
  });

  it("cli - rollback prints the new generation, what it re-pushes and what it replaced", async () => {
    assert.deepEqual(await run(["rollback", "1", "--admin", url]), {
      code: 0, stdout: "generation 7: rollback of generation 1, pushed; generation 2 rolled back\n", stderr: "",
    });
    assertOneLineError(await run(["rollback", "4", "--admin", url]), "generation 4 is rejected; only a pushed or rolled-back generation can be rolled back to");
  });

  it("cli - a guard that cannot write its audit trail is the server's 503 as one line", async () => {
    generations.failWith = STORE_DOWN;
    assertOneLineError(await run(["rollback", "1", "--admin", url]), "audit trail cannot be written: disk full");
  });

  it("cli - bad ids, statuses and limits are refused before the server is asked", async () => {
    const bad: [string[], RegExp][] = [
      [["approve", "x"], /^command-argument value 'x' is invalid for argument 'id'\. It must be a positive integer generation id, as shown by 'steadymesh generations' \(see 'steadymesh approve --help'\)$/],
      [["rollback", "0"], /^command-argument value '0' is invalid for argument 'id'\. It must be a positive integer generation id/],
      [["approve", "-3"], /^command-argument value '-3' is invalid for argument 'id'/],
      [["rollback", "1.5"], /value '1\.5' is invalid for argument 'id'/],
      [["approve"], /^missing required argument 'id' \(see 'steadymesh approve --help'\)$/],
      [["approve", "1", "2"], /^too many arguments for 'approve'/],
      [["generations", "--status", "live"], /^option '--status <status>' argument 'live' is invalid\. It must be one of pushed, held, rejected, canary, rolled-back \(see 'steadymesh generations --help'\)$/],
      [["generations", "--limit", "0"], /^option '--limit <n>' argument '0' is invalid\. It must be an integer from 1 to 1000/],
      [["generations", "--limit", "1001"], /argument '1001' is invalid\. It must be an integer from 1 to 1000/],
    ];
    for (const [args, error] of bad) assertOneLineError(await run([...args, "--admin", url]), error);
    assert.deepEqual(generations.calls, []);
  });
});

describe("cli - generation changes", () => {
  const none = { added: [], removed: [], changed: [] };
  const types = { LDS: none, RDS: none, CDS: none, EDS: none };
  const endpoints = (before: number, after: number) => ({ before, after, added: [], removed: [] });

  it("cli - changes show every kind per type, name at most three services and count the rest", () => {
    const diff = {
      types: { ...types, CDS: { added: ["a"], removed: ["b", "c"], changed: ["d"] } },
      endpoints: { e: endpoints(1, 0), d: endpoints(4, 2), c: endpoints(0, 3), b: endpoints(2, 2) },
    };
    assert.equal(describeChanges(diff), "CDS +1 -2 ~1; b 2→2, c 0→3, d 4→2, +1 more");
  });

  it("cli - a generation that changes nothing shows -", () => {
    assert.equal(describeChanges({ types, endpoints: {} }), "-");
  });
});
