import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "../../src/cli/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { RunningServer, ServeOptions } from "../../src/server/options.js";
import { capture } from "../helpers/io.js";

/** Runs `steadymesh serve ARGS` up to startServer and returns the options it got (or the CLI's stderr). */
async function serveOptions(args: readonly string[]): Promise<{ options?: ServeOptions; code: number; stderr: string; stdout: string }> {
  let options: ServeOptions | undefined;
  const startServer = async (given: ServeOptions): Promise<RunningServer> => {
    options = given;
    throw new Error("stop here");
  };
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", "serve", ...args], { stdout: stdout.stream, stderr: stderr.stream, startServer, logger: createSilentLogger() });
  return { code, stderr: stderr.text(), stdout: stdout.text(), ...(options && { options }) };
}

test("cli - serve --dns-rate-limit passes responses per second (0 = off), and is absent unless given", async () => {
  assert.equal((await serveOptions(["--dns-rate-limit", "50"])).options?.dnsRateLimit, 50);
  assert.equal((await serveOptions(["--dns-rate-limit", "0"])).options?.dnsRateLimit, 0);
  const plain = await serveOptions([]);
  assert.ok(plain.options);
  assert.equal("dnsRateLimit" in plain.options, false);
});

test("cli - serve --dns-rate-limit refuses anything but an integer from 0 to 1000000, in one line", async () => {
  for (const bad of ["-1", "1000001", "fast", "1.5"]) {
    const result = await serveOptions(["--dns-rate-limit", bad]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`^steadymesh: error: option '--dns-rate-limit <per-second>' argument '${bad.replace(".", "\\.")}' is invalid\\. It must be an integer from 0 to 1000000 .*\\n$`));
  }
});

test("cli - serve --help describes --dns-rate-limit and its default", async () => {
  const result = await serveOptions(["--help"]);
  assert.match(result.stdout.replace(/\s+/g, " "), /--dns-rate-limit <per-second> UDP DNS responses per second per source \/24 \(IPv4\) or \/56 \(IPv6\), 0-1000000; 0 turns it off \(default: 200 when --dns-bind \(else --bind\) is not loopback, off on loopback\)/);
});
