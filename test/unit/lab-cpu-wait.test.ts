import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parentPid, parseSchedstat, startCpuWaitMonitor } from "../../src/lab/runner/cpu-wait.js";
import { verdictOf, type MachineTime } from "../../src/lab/report/index.js";

test("lab cpu wait - reads the parent pid after the command name, whatever the name holds", () => {
  assert.equal(parentPid("4242 (node) S 17 4242 17 0 -1"), 17);
  assert.equal(parentPid("4242 (we) ird (na me)) R 99 4242 17 0 -1"), 99);
  assert.equal(parentPid("garbage"), undefined);
});

test("lab cpu wait - parses schedstat's CPU and run-queue nanoseconds", () => {
  assert.deepEqual(parseSchedstat("2467901 1034 1\n"), { cpuNs: 2467901, waitNs: 1034 });
  assert.equal(parseSchedstat(""), undefined);
});

test("lab cpu wait - counts the root and its children from the start, and nothing else", async () => {
  const proc = await mkdtemp(join(tmpdir(), "steadymesh-proc-"));
  const put = async (pid: number, ppid: number, cpuMs: number, waitMs: number) => {
    await mkdir(join(proc, String(pid)), { recursive: true });
    await writeFile(join(proc, String(pid), "stat"), `${pid} (node) S ${ppid} 1 1 0`);
    await writeFile(join(proc, String(pid), "schedstat"), `${cpuMs * 1e6} ${waitMs * 1e6} 5`);
  };
  try {
    await put(100, 1, 1000, 500); // the lab: what it used before the run is not counted
    await put(300, 1, 9000, 9000); // not the lab's
    const monitor = startCpuWaitMonitor({ rootPid: 100, procDir: proc, everyMs: 60_000 });
    await put(100, 1, 1400, 700);
    await put(200, 100, 600, 2600); // a child started during the run
    await put(300, 1, 20000, 20000);
    const wait = monitor.stop();
    assert.deepEqual(wait, { cpuMs: 1000, waitMs: 2800, processes: 2, ratio: 2.8 });
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});

test("lab cpu wait - on this machine, measures this process's own CPU (Linux only)", { skip: process.platform !== "linux" && "needs /proc" }, () => {
  const monitor = startCpuWaitMonitor({ everyMs: 60_000 });
  // Busy on purpose until this process has used 100 ms of CPU by its own count (wall time would vary with load).
  const start = process.cpuUsage();
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < 100);
  const wait = monitor.stop();
  assert.ok(wait.cpuMs >= 80 && wait.ratio !== null, JSON.stringify(wait));
});

test("lab cpu wait - the verdict: a missed SLO is inconclusive only while the processes waited over the limit", () => {
  const machine = (ratio: number | null): MachineTime => ({ cpuMs: 1, waitMs: 1, processes: 1, ratio, limit: 2 });
  const rows: Array<[string, boolean, MachineTime | undefined, string]> = [
    ["every SLO met on a busy machine", true, machine(9), "pass"],
    ["every SLO met, not measured", true, undefined, "pass"],
    ["missed on a quiet machine", false, machine(0.4), "fail"],
    ["missed at exactly the limit", false, machine(2), "fail"],
    ["missed on a busy machine", false, machine(2.1), "inconclusive"],
    ["missed where it cannot be measured", false, machine(null), "fail"],
    ["missed, no measurement", false, undefined, "fail"],
  ];
  for (const [name, ok, m, want] of rows) assert.equal(verdictOf({ ok, ...(m && { machine: m }) }), want, name);
});
