/**
 * DNS fallback (issue 19, gRFC A37) with a STOCK @grpc/grpc-js-xds client
 * configured only by steadymesh: `checkout` has two instances in EDS, and a
 * policy (`steadymesh policy apply`) with `dnsFallback: { name: localhost,
 * port: P }`, where a third backend, `dns-backend`, listens on 127.0.0.1:P.
 * The client reaches the EDS instances; every instance is deregistered, the
 * push guard holds that generation (an endpoint removal) and it is approved
 * with `steadymesh approve ID`; the client then keeps succeeding through the
 * DNS name (the system resolver: grpc-js's `dns:` resolver uses
 * dns.lookup) at 20 RPC/s with no failed RPC; re-registered, it returns to EDS.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { createPolicyCli, type PolicyCli } from "../helpers/policy-cli.js";
import { callMethod, policyClient, startPolicyBackend, type Outcome, type PolicyBackend, type PolicyClient } from "../helpers/policy-backend.js";
import { BOOTSTRAP_KEY } from "../helpers/xds-greeter.js";

const NODE_ID = "dns-fallback-client-1";
const DEADLINE_MS = 15_000;
/** 20 RPC/s. */
const PERIOD_MS = 50;

describe("DNS fallback with a stock grpc-js-xds client", () => {
  let cp: TestControlPlane;
  let dir: string;
  let a: PolicyBackend;
  let b: PolicyBackend;
  let dns: PolicyBackend;
  let client: PolicyClient;
  let pc: PolicyCli;

  const cli = (args: readonly string[]) => pc.cli(args);

  async function revision(): Promise<number> {
    const { generations } = (await cp.api("GET", "/v1/generations")).body as { generations: Array<{ revision: number }> };
    return generations.at(-1)?.revision ?? 0;
  }

  const generationOf = (from: number, statuses: readonly string[]) => pc.generationOf(from, statuses);

  /** Calls at 20 RPC/s until `until` returns true for an outcome (or the deadline passes); every outcome. */
  async function callsUntil(until: (outcome: Outcome) => boolean): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const end = Date.now() + DEADLINE_MS;
    for (;;) {
      const started = Date.now();
      const outcome = await callMethod(client, "SayHello", { deadlineMs: 2000 });
      outcomes.push(outcome);
      if (until(outcome)) return outcomes;
      assert.ok(Date.now() < end, `not reached within ${DEADLINE_MS} ms: ${JSON.stringify(outcomes.slice(-3))}`);
      await new Promise((r) => setTimeout(r, Math.max(0, PERIOD_MS - (Date.now() - started))));
    }
  }

  const failed = (outcomes: readonly Outcome[]) => outcomes.filter((o) => !o.ok);
  const backendOf = (o: Outcome) => (o.ok ? o.backend : "failed");

  before(async () => {
    (await import("@grpc/grpc-js-xds")).register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-dns-fallback-"));
    cp = await startControlPlane();
    pc = createPolicyCli(cp, dir, DEADLINE_MS);
    [a, b, dns] = (await Promise.all(["eds-a", "eds-b", "dns-backend"].map((id) => startPolicyBackend(id)))) as [PolicyBackend, PolicyBackend, PolicyBackend];
    await cp.register("checkout", "eds-a", a.port);
    await cp.register("checkout", "eds-b", b.port);
    const file = join(dir, "policy.yaml");
    await writeFile(file, `service: checkout\ndnsFallback: { name: localhost, port: ${dns.port} }\n`);
    const applied = await cli(["policy", "apply", "-f", file]);
    assert.equal(applied.code, 0, `policy apply failed: ${applied.stderr}`);
    await generationOf(Number(/revision (\d+)/.exec(applied.stdout)?.[1] ?? 0), ["pushed"]);
    const bootstrap = buildBootstrap({ nodeId: NODE_ID, xds: [`127.0.0.1:${cp.xds.port}`] });
    client = policyClient("xds:///checkout", { [BOOTSTRAP_KEY]: JSON.stringify(bootstrap) });
  });

  after(async () => {
    client?.close();
    await Promise.all([a?.stop(), b?.stop(), dns?.stop()]);
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("dns fallback - EDS first; emptied and approved, the DNS name at 20 RPC/s with no failed RPC; back to EDS when re-registered", async (t) => {
    // Through EDS: both instances answer, the DNS backend none.
    await callsUntil((o) => o.ok);
    const viaEds: Outcome[] = [];
    for (let i = 0; i < 20; i++) viaEds.push(await callMethod(client, "SayHello"));
    assert.deepEqual(failed(viaEds), []);
    assert.deepEqual(new Set(viaEds.map(backendOf)), new Set(["eds-a", "eds-b"]));
    assert.equal(dns.calls(), 0, "no call went to the DNS name while EDS had endpoints");

    // Every instance deregistered: the guard holds the empty generation; approved, it reaches the client.
    const from = (await revision()) + 1;
    await cp.deregister("checkout", "eds-a");
    await cp.deregister("checkout", "eds-b");
    const held = await generationOf(from + 1, ["held"]);
    t.diagnostic(`held: ${held.reason ?? ""}`);
    const load = (async () => callsUntil((o) => o.ok && o.backend === "dns-backend"))();
    const approved = await cli(["approve", String(held.id)]);
    assert.equal(approved.code, 0, approved.stderr);
    const switching = await load;
    assert.deepEqual(failed(switching), [], "no RPC failed while the client moved to DNS");
    // While EDS is empty: 3 s at 20 RPC/s, every one through the DNS name.
    const whileEmpty: Outcome[] = [];
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      const started = Date.now();
      whileEmpty.push(await callMethod(client, "SayHello", { deadlineMs: 2000 }));
      await new Promise((r) => setTimeout(r, Math.max(0, PERIOD_MS - (Date.now() - started))));
    }
    t.diagnostic(`while EDS was empty: ${whileEmpty.length} RPCs, ${failed(whileEmpty).length} failed`);
    assert.deepEqual(failed(whileEmpty), [], "0 failed RPCs while EDS is empty");
    assert.ok(whileEmpty.every((o) => o.ok && o.backend === "dns-backend"), JSON.stringify([...new Set(whileEmpty.map(backendOf))]));

    // Re-registered: back to EDS, still without a failed RPC.
    await cp.register("checkout", "eds-a", a.port);
    const back = await callsUntil((o) => o.ok && o.backend === "eds-a");
    assert.deepEqual(failed(back), []);
    const after: Outcome[] = [];
    for (let i = 0; i < 20; i++) after.push(await callMethod(client, "SayHello"));
    assert.ok(after.every((o) => o.ok && o.backend === "eds-a"), JSON.stringify(after.map(backendOf)));
  });

  test("dns fallback - MEASURED FACT (grpc-js-xds 1.14): a fallback name that does not resolve takes the whole service down, EDS endpoints or not", async (t) => {
    // A second service with live EDS endpoints and a fallback name no resolver knows (.invalid is reserved, RFC 6761).
    await cp.register("orders", "eds-a", a.port);
    const file = join(dir, "unresolvable.yaml");
    await writeFile(file, `service: orders\ndnsFallback: { name: no-such-host.invalid, port: ${dns.port} }\n`);
    const applied = await cli(["policy", "apply", "-f", file]);
    assert.equal(applied.code, 0, applied.stderr);
    await generationOf(Number(/revision (\d+)/.exec(applied.stdout)?.[1] ?? 0), ["pushed"]);
    const orders = policyClient("xds:///orders", { [BOOTSTRAP_KEY]: JSON.stringify(buildBootstrap({ nodeId: "dns-fallback-client-2", xds: [`127.0.0.1:${cp.xds.port}`] })) });
    try {
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 10; i++) outcomes.push(await callMethod(orders, "SayHello", { deadlineMs: 1000 }));
      const summary = [...new Set(outcomes.map((o) => (o.ok ? o.backend : `${o.code} ${o.details}`)))].join(" | ");
      t.diagnostic(`orders with an unresolvable fallback name and 1 EDS endpoint: ${summary}`);
      // The stock client builds no configuration for the aggregate until every child has resolved, so
      // nothing is served. If this starts to pass calls, the client improved: update README ("DNS fallback").
      assert.ok(
        outcomes.every((o) => !o.ok),
        `MEASURED FACT CHANGED for grpc-js-xds: expected every call to fail while the fallback name does not resolve, observed ${summary}`,
      );
    } finally {
      orders.close();
    }
  });
});
