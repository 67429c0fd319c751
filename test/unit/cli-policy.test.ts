/**
 * `steadymesh policy …` run through the CLI's main against an in-process
 * admin API on a real registry (loopback HTTP): apply, get, delete and diff,
 * and bad files that exit 1 with one line per problem and send nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { parse } from "yaml";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { main, type CliIo } from "../../src/cli/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const GOOD = `service: checkout
subsets:
  - { name: v1, match: { version: "1" } }
  - { name: v2, match: { version: "2" } }
routes:
  - match: { headers: { x-canary: { exact: "yes" } } }
    to: [{ subset: v2 }]
  - match: { method: "/shop.Checkout/Pay" }
    timeoutMs: 2000
    retry: { on: [unavailable, resource-exhausted], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } }
    to: [{ subset: v1, weight: 95 }, { subset: v2, weight: 5 }]
    fault: { delay: { ms: 200, percent: 10 }, abort: { code: UNAVAILABLE, percent: 1 } }
---
service: web
subsets: [{ name: v1, match: { version: "1" } }]
routes: [{ to: [{ subset: v1 }] }]
`;

/** One document with every field of issue 19, in canonical order (what `policy get` prints back). */
const CLUSTER_FIELDS = `service: checkout
subsets:
  - { name: v1, match: { version: "1" } }
routes:
  - { match: { prefix: "/shop.Checkout/" }, to: [{ subset: v1, weight: 100 }] }
outlierDetection: { consecutiveErrors: 5, intervalMs: 1000, baseEjectionMs: 30000, maxEjectionPercent: 50,
                    failurePercentage: { threshold: 85, minimumHosts: 3, requestVolume: 20 } }
maxRequests: 10
loadBalancing: { policy: ring_hash, hashOn: { header: x-user }, ringSize: { min: 1024, max: 8388608 } }
dnsFallback: { name: checkout.internal, port: 443 }
failover: { zones: [z1, z2] }
`;

/** The five bad files of the brief, each with the path its one problem names. */
const BAD: readonly { name: string; text: string; problem: RegExp }[] = [
  { name: "unknown-subset", text: GOOD.replace("to: [{ subset: v2 }]", "to: [{ subset: v3 }]"), problem: /: documents\[0\]\.routes\[0\]\.to\[0\]\.subset: unknown subset "v3"; subsets are v1, v2$/ },
  { name: "weights", text: GOOD.replace("weight: 95", "weight: 90"), problem: /: documents\[0\]\.routes\[1\]\.to: weights add up to 95; they must add up to 100$/ },
  { name: "bad-regex", text: GOOD.replace('exact: "yes"', 'regex: "(?!no)"'), problem: /: documents\[0\]\.routes\[0\]\.match\.headers\.x-canary\.regex: RE2 has no lookahead/ },
  { name: "unknown-field", text: GOOD.replace("timeoutMs: 2000", "timeout: 2000"), problem: /: documents\[0\]\.routes\[1\]\.timeout: unknown field; allowed fields are match, to, timeoutMs, retry, fault$/ },
  { name: "retry-code", text: GOOD.replace("on: [unavailable,", "on: [flaky,"), problem: /: documents\[0\]\.routes\[1\]\.retry\.on\[0\]: must be one of cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, got "flaky"$/ },
];

async function run(args: readonly string[], stdin?: string) {
  const stdout = capture();
  const stderr = capture();
  const io: CliIo = { stdout: stdout.stream, stderr: stderr.stream, ...(stdin !== undefined && { stdin: Readable.from([Buffer.from(stdin)]) }) };
  const code = await main(["node", "steadymesh", ...args], io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("cli policy - against an admin API", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  let dir: string;
  /** Requests that reached `recorder`, a server that takes anything: proof that a bad file sends nothing. */
  let requests: string[];
  let recorder: Server;
  let recorderUrl: string;

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    recorder = createServer((request, response) => {
      requests.push(`${request.method ?? ""} ${request.url ?? ""}`);
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    const address = recorder.address();
    recorderUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
    dir = await mkdtemp(join(tmpdir(), "steadymesh-cli-policy-"));
  });
  beforeEach(async () => {
    requests = [];
    for (const name of ["checkout", "web"]) if (registry.getService(name)) await registry.deleteService(name);
  });
  after(async () => {
    await new Promise<void>((resolve, reject) => recorder.close((err) => (err ? reject(err) : resolve())));
    await admin.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it("cli policy - apply sets every document in one revision and prints one line per service; get prints it back as YAML or JSON", async () => {
    const path = await file("good.yaml", GOOD);
    const before = registry.view().revision;
    const applied = await run(["policy", "apply", "-f", path, "--admin", url, "--wait-ms", "0"]);
    assert.equal(applied.code, 0, applied.stderr);
    const revision = before + 1;
    assert.equal(applied.stdout, `applied checkout (revision ${revision})\napplied web (revision ${revision})\n`);
    assert.equal(registry.view().revision, revision);
    const yaml = await run(["policy", "get", "checkout", "--admin", url]);
    assert.equal(yaml.code, 0, yaml.stderr);
    const expected = { service: "checkout", subsets: registry.getPolicy("checkout").policy.subsets, routes: registry.getPolicy("checkout").policy.routes };
    assert.deepEqual(parse(yaml.stdout), expected);
    assert.match(yaml.stdout, /^service: checkout\n/);
    const json = await run(["policy", "get", "checkout", "--json", "--admin", url]);
    assert.deepEqual(JSON.parse(json.stdout), expected);
    assert.equal(JSON.parse(json.stdout).routes[0].to[0].weight, 100);
  });

  it("cli policy - apply reads standard input with -f -, and what get prints applies again unchanged", async () => {
    const applied = await run(["policy", "apply", "-f", "-", "--admin", url, "--wait-ms", "0"], GOOD.split("---")[1]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^applied web \(revision \d+\)\n$/);
    const printed = await run(["policy", "get", "web", "--admin", url]);
    const diff = await run(["policy", "diff", "-f", "-", "--admin", url], printed.stdout);
    assert.deepEqual(diff, { code: 0, stdout: "web: unchanged\n", stderr: "" });
  });

  it("cli policy - a file with every issue-19 field applies, and get gives it back equal (YAML and JSON); diff of what get printed is unchanged", async () => {
    const path = await file("cluster.yaml", CLUSTER_FIELDS);
    const applied = await run(["policy", "apply", "-f", path, "--admin", url, "--wait-ms", "0"]);
    assert.equal(applied.code, 0, applied.stderr);
    const stored = registry.getPolicy("checkout").policy;
    assert.deepEqual(stored.loadBalancing, { policy: "ring_hash", hashOn: { header: "x-user" }, ringSize: { min: 1024, max: 8388608 } });
    const expected = { service: "checkout", ...(parse(CLUSTER_FIELDS) as object) };
    const yaml = await run(["policy", "get", "checkout", "--admin", url]);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.deepEqual(parse(yaml.stdout), expected);
    assert.match(yaml.stdout, /^service: checkout\nsubsets:[^]*\nroutes:[^]*\noutlierDetection:[^]*\nmaxRequests: 10\nloadBalancing:[^]*\ndnsFallback:[^]*\nfailover:\n/);
    const json = await run(["policy", "get", "checkout", "--json", "--admin", url]);
    assert.deepEqual(JSON.parse(json.stdout), expected);
    const again = await run(["policy", "diff", "-f", "-", "--admin", url], yaml.stdout);
    assert.deepEqual(again, { code: 0, stdout: "checkout: unchanged\n", stderr: "" });
    const changed = await run(["policy", "diff", "-f", "-", "--admin", url], yaml.stdout.replace("maxRequests: 10", "maxRequests: 20"));
    assert.deepEqual(changed.stdout.trimEnd().split("\n").filter((l) => /^[+-] /.test(l)), ["- maxRequests: 10", "+ maxRequests: 20"]);
  });

  it("cli policy - a bad issue-19 field exits 1 with its path and sends nothing", async () => {
    const path = await file("bad-cluster.yaml", CLUSTER_FIELDS.replace("header: x-user", "header: grpc-user").replace("port: 443", "port: 0"));
    const result = await run(["policy", "apply", "-f", path, "--admin", recorderUrl]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3, result.stderr);
    assert.ok(lines.some((line) => line.includes(`${path}: loadBalancing.hashOn.header: the grpc- prefix is reserved`)), result.stderr);
    assert.ok(lines.some((line) => line.includes(`${path}: dnsFallback.port: must be an integer from 1 to 65535, got 0`)), result.stderr);
    assert.deepEqual(requests, []);
  });

  it("cli policy - diff prints what would change and applies nothing", async () => {
    await run(["policy", "apply", "-f", await file("first.yaml", GOOD), "--admin", url, "--wait-ms", "0"]);
    const revision = registry.view().revision;
    const moved = GOOD.replace("weight: 95", "weight: 0").replace("weight: 5", "weight: 100").replace("service: web", "service: web\n# same");
    const diff = await run(["policy", "diff", "-f", await file("moved.yaml", moved), "--admin", url]);
    assert.equal(diff.code, 0, diff.stderr);
    const lines = diff.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "checkout: changed");
    assert.deepEqual(lines.filter((l) => /^[+-] /.test(l)), ["-         weight: 95", "+         weight: 0", "-         weight: 5", "+         weight: 100"]);
    assert.equal(lines.at(-1), "web: unchanged");
    assert.equal(registry.view().revision, revision);
    await registry.deleteService("web");
    assert.match((await run(["policy", "diff", "-f", await file("moved2.yaml", moved), "--admin", url])).stdout, /\nweb: new policy\n\+ service: web\n/);
  });

  it("cli policy - delete removes the policy; delete and get of a missing one are one-line errors", async () => {
    await run(["policy", "apply", "-f", await file("d.yaml", GOOD), "--admin", url, "--wait-ms", "0"]);
    const deleted = await run(["policy", "delete", "checkout", "--admin", url, "--wait-ms", "0"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^deleted the policy of checkout \(revision \d+\)\n$/);
    assert.ok(registry.getService("checkout") && registry.getService("checkout")?.service.policy === undefined);
    for (const args of [["policy", "delete", "checkout"], ["policy", "get", "checkout"]]) {
      const missing = await run([...args, "--admin", url]);
      assert.deepEqual([missing.code, missing.stdout], [1, ""]);
      assert.match(missing.stderr, /^steadymesh: error: service "checkout" has no policy\n$/);
    }
    assert.match((await run(["policy", "get", "Bad!", "--admin", url])).stderr, /^steadymesh: error: .*DNS label/);
  });

  for (const bad of BAD) {
    it(`cli policy - a bad file (${bad.name}) exits 1 with one line per problem, sends nothing, changes nothing`, async () => {
      const path = await file(`${bad.name}.yaml`, bad.text);
      const revision = registry.view().revision;
      for (const [command, server] of [["apply", url], ["apply", recorderUrl], ["diff", recorderUrl]] as const) {
        const result = await run(["policy", command, "-f", path, "--admin", server]);
        assert.equal(result.code, 1);
        assert.equal(result.stdout, "");
        const lines = result.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 2, result.stderr);
        assert.ok(lines[0]?.startsWith(`steadymesh: error: ${path}: `), lines[0]);
        assert.match(lines[0] ?? "", bad.problem);
        assert.equal(lines[1], `steadymesh: error: ${path} has 1 problem; nothing was applied`);
      }
      assert.deepEqual(requests, [], "nothing was sent");
      assert.equal(registry.view().revision, revision);
    });
  }

  it("cli policy - every problem of a file gets its own line", async () => {
    const all = GOOD.replace("to: [{ subset: v2 }]", "to: [{ subset: v3 }]").replace("weight: 95", "weight: 90").replace("timeoutMs: 2000", "timeout: 2000").replace("on: [unavailable,", "on: [flaky,").replace('exact: "yes"', 'regex: "(?!no)"');
    const result = await run(["policy", "apply", "-f", await file("all.yaml", all), "--admin", recorderUrl]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 6, result.stderr);
    for (const bad of BAD) assert.ok(lines.some((line) => bad.problem.test(line)), `${bad.name}: ${result.stderr}`);
    assert.match(lines[5] ?? "", /has 5 problems; nothing was applied$/);
    assert.deepEqual(requests, []);
  });

  it("cli policy - a missing file and a bad flag are one-line errors; --help shows an example", async () => {
    const missing = await run(["policy", "apply", "-f", join(dir, "nope.yaml"), "--admin", url]);
    assert.match(missing.stderr, /^steadymesh: error: -f .*nope\.yaml: cannot read it \(ENOENT\)\n$/);
    assert.match((await run(["policy", "apply", "--admin", url])).stderr, /^steadymesh: error: required option '-f, --file <file>' not specified/);
    for (const command of ["apply", "get", "delete", "diff"]) {
      const help = await run(["policy", command, "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`Example:\\n  steadymesh policy ${command}`));
      assert.match(help.stdout, /--admin <url>/);
    }
  });
});
