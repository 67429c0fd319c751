import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawnCli } from "../helpers/serve-process.js";

/** Holds a loopback port the way another process would: TCP, or UDP for the DNS port's other half. */
async function holdPort(protocol: "tcp" | "udp"): Promise<{ port: number; release(): Promise<void> }> {
  if (protocol === "udp") {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind({ address: "127.0.0.1", port: 0 }, resolve));
    return { port: socket.address().port, release: () => new Promise((resolve) => socket.close(() => resolve())) };
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return { port: (server.address() as AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs `steadymesh serve` to its exit; resolves with its status and output. */
function runServe(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(["serve", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

describe("serve start-up", () => {
  for (const [listener, protocol] of [["xds", "tcp"], ["admin", "tcp"], ["dns", "udp"]] as const) {
    it(`serve start-up - a ${listener} port another process has: exit 1, one line naming the listener and address, nothing in the data dir`, async () => {
      const taken = await holdPort(protocol);
      const dataDir = mkdtempSync(join(tmpdir(), "steadymesh-startup-"));
      try {
        const ports = { xds: "0", admin: "0", dns: "0", [listener]: String(taken.port) };
        const result = await runServe(["--data-dir", dataDir, "--xds-port", ports.xds, "--admin-port", ports.admin, "--dns-port", ports.dns]);
        assert.equal(result.code, 1);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, `steadymesh: error: cannot listen for ${listener} on 127.0.0.1:${taken.port}: address in use (another process has it; pick another --${listener}-port)\n`);
        // No registry.db, no admin-token, no ca.pem: nothing was opened, created or pushed.
        assert.deepEqual(readdirSync(dataDir), []);
      } finally {
        await taken.release();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
