import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { main } from "../../src/cli/index.js";
import { formatScenarioList, formatSpan } from "../../src/cli/scenario-list.js";
import { listScenarios } from "../../src/lab/index.js";
import { captureIo } from "../helpers/io.js";

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

  it("cli - the executable answers --version before it loads the commands", async () => {
    const bin = new URL("../../src/cli/bin.ts", import.meta.url).pathname;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", bin, "--version"]);
    assert.equal(stdout, `${PACKAGE_VERSION}\n`);
    assert.equal(stderr, "");
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
