/**
 * The traffic policy tests' way of configuring a live control plane: the
 * steadymesh CLI run in-process (`policy apply -f FILE`, `approve`, …)
 * against it, and the generation a change made, as GET /v1/generations
 * lists it.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { main } from "../../src/cli/index.js";
import type { TestControlPlane } from "./control-plane.js";
import { capture } from "./io.js";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GenerationSeen {
  readonly id: number;
  readonly revision: number;
  readonly status: string;
  readonly reason?: string;
}

export interface PolicyCli {
  /** `steadymesh ARGS --admin URL --token T`, in this process. */
  cli(args: readonly string[]): Promise<CliResult>;
  /** Writes `yaml` to a new file in the test's directory; returns its path. */
  writePolicy(yaml: string): Promise<string>;
  /** `steadymesh policy apply -f FILE` of `yaml`, which must succeed; returns the registry revision it printed. */
  apply(yaml: string): Promise<number>;
  /** The first generation built from registry revision `revision` or later with one of `statuses`, waiting up to `deadlineMs`. */
  generationOf(revision: number, statuses: readonly string[]): Promise<GenerationSeen>;
}

export function createPolicyCli(cp: TestControlPlane, dir: string, deadlineMs: number): PolicyCli {
  let files = 0;
  const api: PolicyCli = {
    async cli(args) {
      const stdout = capture();
      const stderr = capture();
      const code = await main(["node", "steadymesh", ...args, ...cp.cliArgs], { stdout: stdout.stream, stderr: stderr.stream });
      return { code, stdout: stdout.text(), stderr: stderr.text() };
    },
    async writePolicy(yaml) {
      const file = join(dir, `policy-${++files}.yaml`);
      await writeFile(file, yaml);
      return file;
    },
    async apply(yaml) {
      const result = await api.cli(["policy", "apply", "-f", await api.writePolicy(yaml)]);
      assert.equal(result.code, 0, `policy apply failed: ${result.stderr}`);
      const revision = /revision (\d+)/.exec(result.stdout);
      assert.ok(revision, `policy apply printed no revision: ${result.stdout}`);
      return Number(revision[1]);
    },
    async generationOf(revision, statuses) {
      const end = Date.now() + deadlineMs;
      for (;;) {
        const { generations } = (await cp.api("GET", "/v1/generations")).body as { generations: GenerationSeen[] };
        const found = generations.find((g) => g.revision >= revision && statuses.includes(g.status));
        if (found) return found;
        assert.ok(Date.now() < end, `no generation from revision ${revision} with status ${statuses.join("|")}: ${JSON.stringify(generations.slice(-3))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  return api;
}
