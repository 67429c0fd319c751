import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { inCliWords } from "../../src/cli/cli-wording.js";
import { main } from "../../src/cli/index.js";
import { formatScenarioList, formatSpan } from "../../src/cli/scenario-list.js";
import { listScenarios } from "../../src/lab/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { captureIo } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

async function run(args: readonly string[], columns?: number): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  if (columns !== undefined) Object.assign(io.stdout, { columns });
  const code = await main(["node", "steadymesh", ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe("steadymesh --version", () => {
  for (const flag of ["--version", "-V"]) {
    it(`cli - ${flag} prints package.json's version and exits 0`, async () => {
      const result = await run([flag]);
      assert.deepEqual(result, { code: 0, out: `${PACKAGE_VERSION}\n`, err: "" });
    });
  }

  it("cli - --help lists --version", async () => {
    const result = await run(["--help"]);
    assert.match(result.out, /-V, --version +print steadymesh's version and exit/);
  });

  it("cli - the executable (src/cli/bin.ts) prints the version alone on stdout", async () => {
    const bin = new URL("../../src/cli/bin.ts", import.meta.url).pathname;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", bin, "--version"]);
    assert.equal(stdout, `${PACKAGE_VERSION}\n`);
    assert.equal(stderr, "");
  });
});

describe("the executable's output", () => {
  it("cli - a reader that closes the pipe early (| head) ends the command quietly, exit 0", async () => {
    const bin = new URL("../../src/cli/bin.ts", import.meta.url).pathname;
    const child = spawn(process.execPath, ["--import", "tsx", bin, "lab", "list"], { stdio: ["ignore", "pipe", "pipe"] });
    // Closed before the child has started, so its first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(stderr, "");
    assert.equal(code, 0);
  });
});

describe("steadymesh lab list", () => {
  const scenarios = listScenarios();

  for (const columns of [50, 80, 120, 200]) {
    it(`cli - lab list fits ${columns} columns and shows every scenario's duration and real time`, async () => {
      const result = await run(["lab", "list"], columns);
      assert.equal(result.code, 0, result.err);
      const lines = result.out.trimEnd().split("\n");
      for (const line of lines) assert.ok(line.length <= columns, `${line.length} > ${columns}: ${line}`);
      assert.match(lines[0]!, /^SCENARIO +DURATION +REAL TIME/);
      for (const s of scenarios) {
        const row = lines.find((line) => line.startsWith(`${s.name} `));
        assert.ok(row, `no row for ${s.name}`);
        assert.match(row, new RegExp(` ${formatSpan(s.durationSec)} +${formatSpan(s.durationSec / s.speed)} at ${s.speed}×`));
      }
    });
  }

  it("cli - lab list without a terminal is 80 columns wide", async () => {
    const result = await run(["lab", "list"]);
    assert.deepEqual(result.out.trimEnd().split("\n"), formatScenarioList(scenarios, 80));
  });

  it("cli - lab list wraps the description's first sentence, losing no word", () => {
    const row = { name: "s", durationSec: 600, speed: 5, summary: "One two three four five six seven eight nine ten eleven twelve. Second sentence." };
    for (const columns of [40, 60, 70, 100]) {
      const lines = formatScenarioList([row], columns);
      for (const line of lines) assert.ok(line.length <= columns, `${line.length} > ${columns}: ${line}`);
      const text = lines.slice(1).join(" ").replace(/^s +10 min +2 min at 5×/, "").replace(/\s+/g, " ").trim();
      assert.equal(text, "One two three four five six seven eight nine ten eleven twelve.");
    }
  });

  it("cli - formatSpan rounds to what a reader needs", () => {
    assert.deepEqual([30, 84.4, 119.6, 420, 7199, 10200, 7200].map(formatSpan), ["30 s", "84 s", "2 min", "7 min", "2 h", "2 h 50 min", "2 h"]);
  });
});

describe("errors in the CLI's words", () => {
  it("cli - an admin API route in a server's message becomes the command that does the same", () => {
    assert.equal(inCliWords("generation 7 not found (GET /v1/generations lists them)"), "generation 7 not found ('steadymesh generations' lists them)");
    assert.equal(inCliWords("see GET /v1/clients and GET /v1/services"), "see 'steadymesh status' and 'steadymesh list'");
    assert.equal(inCliWords("GET /v1/generationsX"), "GET /v1/generationsX", "only whole routes");
    assert.equal(inCliWords("GET /v1/generations/:id needs scope read"), "GET /v1/generations/:id needs scope read", "no command makes that request");
    assert.equal(inCliWords("scope read; DELETE /v1/services/:service/instances/:id needs scope write"), "scope read; 'steadymesh deregister' needs scope write");
    assert.equal(inCliWords("PUT /v1/services/:service/instances/:id/heartbeat needs scope write"), "'steadymesh heartbeat' needs scope write");
  });

  it("cli - a body field becomes its flag as an issue's path, quoted, or (camelCase) as a word; other words stay", () => {
    const flags = { ttlMs: "--ttl-ms", address: "--address", port: "--port" };
    assert.equal(
      inCliWords('address: must be an IPv4 or IPv6 address, got "x"; ttlMs: must be an integer; port: must be from 1', flags),
      '--address: must be an IPv4 or IPv6 address, got "x"; --ttl-ms: must be an integer; --port: must be from 1',
    );
    assert.equal(inCliWords('has no ttlMs; register it with "ttlMs"', flags), "has no --ttl-ms; register it with --ttl-ms");
    assert.equal(inCliWords("ttlMs: bad", {}), "ttlMs: bad", "no flags given, no rewrite");
    assert.equal(inCliWords("the address and port are in use", flags), "the address and port are in use");
  });

  it("cli - a bare 'not found' gets the command that lists what exists", () => {
    assert.equal(inCliWords('service "web" not found'), "service \"web\" not found; 'steadymesh list' shows the registered services");
    assert.equal(inCliWords('instance "a" not found in service "web"'), "instance \"a\" not found in service \"web\"; 'steadymesh list web' shows its instances");
    assert.equal(inCliWords("generation 9 not found"), "generation 9 not found; 'steadymesh generations' lists them");
    assert.equal(inCliWords("token x not found; ask an operator"), "token x not found; ask an operator");
  });

  describe("against a live admin API", () => {
    let registry: Registry;
    let admin: AdminServer;
    let url: string;
    before(async () => {
      registry = await createRegistry(createMemoryStore());
      admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
      url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
    });
    after(async () => {
      await admin.close();
      await registry.close();
    });

    it("cli - register: the server's rejection of a field names the flag; the API's own answer keeps the field name", async () => {
      const cli = await run(["register", "web", "--address", "0.0.0.0", "--port", "80", "--region", "a b", "--admin", url]);
      assert.equal(cli.code, 1);
      assert.match(cli.err, /^steadymesh: error: --address: "0.0.0.0" is the unspecified address[^\n]*; --region: must be at most 63 characters[^\n]*\n$/);
      const api = await admin.inject({ method: "PUT", url: "/v1/services/web/instances/a", payload: { address: "0.0.0.0", port: 80, region: "a b" } });
      assert.match(api.json<{ error: string }>().error, /^address: "0.0.0.0" is the unspecified address.*; region: must be/);
      assert.equal(registry.view().services.size, 0, "nothing written");
    });

    it("cli - approve and rollback of an unknown generation name 'steadymesh generations'", async () => {
      for (const command of ["approve", "rollback"]) {
        const result = await run([command, "42", "--admin", url]);
        assert.equal(result.code, 1);
        assert.match(result.err, /^steadymesh: error: generation 42 not found[^\n]*'steadymesh generations' lists them\n$/);
        assert.doesNotMatch(result.err, /\/v1\//);
      }
    });
  });
});
