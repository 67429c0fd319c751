import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "../../src/cli/index.js";
import { toServeOptions } from "../../src/cli/commands/serve-flags.js";
import { parseServe } from "../helpers/serve-flags.js";
import { duration } from "../../src/cli/duration.js";
import { SteadyError } from "../../src/errors/index.js";
import { createLogger, createSilentLogger } from "../../src/log/index.js";
import { checkBindPolicy, startServer, SERVE_DEFAULTS } from "../../src/server/index.js";
import { capture } from "../helpers/io.js";

const logger = createSilentLogger();

test("serve security - loopback binds always pass; others need TLS and auth, or --insecure-bind", () => {
  for (const bind of ["127.0.0.1", "127.5.0.1", "::1", "::ffff:127.0.0.1"]) checkBindPolicy({ bind, tls: false, auth: false, insecureBind: false }, logger);
  checkBindPolicy({ bind: "0.0.0.0", tls: true, auth: true, insecureBind: false }, logger);
  const refused = (input: { tls: boolean; auth: boolean }, missing: string) =>
    assert.throws(
      () => checkBindPolicy({ bind: "10.0.0.5", ...input, insecureBind: false }, logger),
      (err: unknown) =>
        err instanceof SteadyError &&
        err.code === "invalid-argument" &&
        err.message === `--bind 10.0.0.5 is not a loopback address and ${missing}; turn on --tls and authentication (--auth on, the default), or pass --insecure-bind to listen anyway`,
    );
  refused({ tls: false, auth: true }, "TLS is off");
  refused({ tls: true, auth: false }, "authentication is off");
  refused({ tls: false, auth: false }, "TLS is off and authentication is off");
});

test("serve security - --insecure-bind passes with a warning at every start", () => {
  const out = capture();
  const warnings = createLogger({ destination: out.stream });
  checkBindPolicy({ bind: "0.0.0.0", tls: false, auth: true, insecureBind: true }, warnings);
  checkBindPolicy({ bind: "0.0.0.0", tls: false, auth: true, insecureBind: true }, warnings);
  const lines = out.text().trim().split("\n").map((line) => JSON.parse(line) as { level: number; msg: string });
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => line.level === 40 && /--insecure-bind: listening on 0\.0\.0\.0.*TLS is off/.test(line.msg)));
});

test("serve security - serve --bind 0.0.0.0 without TLS exits 1 with one line, before opening anything", async () => {
  const stderr = capture();
  const code = await main(["node", "steadymesh", "serve", "--bind", "0.0.0.0", "--store", "memory", "--xds-port", "0", "--admin-port", "0", "--dns-port", "0"], { stdout: capture().stream, stderr: stderr.stream, logger });
  assert.equal(code, 1);
  assert.match(stderr.text(), /^steadymesh: error: --bind 0\.0\.0\.0 is not a loopback address and TLS is off; turn on --tls .*--insecure-bind to listen anyway\n$/);
  await assert.rejects(startServer({ ...SERVE_DEFAULTS, bind: "0.0.0.0", store: "memory", logger }), /not a loopback address/);
});

test("serve security - TLS and CA flags become ServeOptions", () => {
  const plain = toServeOptions(parseServe([]), logger);
  assert.equal(plain.tls, undefined);
  assert.equal(plain.caFiles, undefined);
  assert.equal(plain.trustDomain, "steadymesh.local");
  assert.equal(plain.certTtlMs, 24 * 3600_000);
  const flags = parseServe(["--tls", "--tls-san", "mesh.example", "--tls-san", "10.0.0.5", "--trust-domain", "corp.example", "--cert-ttl", "2m", "--ca-cert", "ca.pem", "--ca-key", "ca.key", "--insecure-bind"]);
  const options = toServeOptions(flags, logger);
  assert.deepEqual(options.tls, { sans: ["mesh.example", "10.0.0.5"] });
  assert.deepEqual(options.caFiles, { certificate: "ca.pem", key: "ca.key" });
  assert.equal(options.trustDomain, "corp.example");
  assert.equal(options.certTtlMs, 120_000);
  assert.equal(options.insecureBind, true);
  // --tls-cert/--tls-key turn TLS on by themselves.
  assert.deepEqual(toServeOptions(parseServe(["--tls-cert", "s.pem", "--tls-key", "s.key"]), logger).tls, { sans: [], files: { certificate: "s.pem", key: "s.key" } });
  assert.deepEqual(toServeOptions(parseServe(["--tls", "--tls-san", "[::1]", "--tls-san", "CP.Example."]), logger).tls, { sans: ["::1", "cp.example"] });
  assert.throws(() => parseServe(["--tls", "--tls-san", "0.0.0.0"]), /It must be an address of this machine/);
});

test("serve security - a certificate file without its key, and the key without the certificate, are refused", () => {
  assert.throws(() => parseServe(["--tls-cert", "s.pem"]), /^SteadyError: --tls-cert needs --tls-key: give both files or neither$/);
  assert.throws(() => parseServe(["--ca-key", "k.pem"]), /^SteadyError: --ca-key needs --ca-cert: give both files or neither$/);
});

test("serve security - durations: ms, s, m, h, d within the range; anything else says what is allowed", () => {
  const parse = duration(1000, 365 * 86_400_000);
  assert.deepEqual(["1s", "90s", "2m", "24h", "7d", "1500ms"].map(parse), [1000, 90_000, 120_000, 86_400_000, 604_800_000, 1500]);
  for (const bad of ["", "2", "2 m", "-1s", "500ms", "366d", "1.5h", "2M"]) {
    assert.throws(() => parse(bad), /^InvalidArgumentError: It must be a duration such as 90s, 2m, 24h or 7d \(units ms, s, m, h, d\), from 1s to 365d\.$/, bad);
  }
});
