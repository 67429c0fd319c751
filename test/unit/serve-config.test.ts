import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { EventEmitter } from "node:events";
import { main, type SignalSource, type StopSignal } from "../../src/cli/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { ServeOptions } from "../../src/server/index.js";
import { capture } from "../helpers/io.js";

const logger = createSilentLogger();
const dir = mkdtempSync(join(tmpdir(), "steadymesh-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs `steadymesh serve ARGS` with a startServer that records its options and refuses to start. */
async function serveOptions(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string; options: ServeOptions | undefined }> {
  const stdout = capture();
  const stderr = capture();
  let options: ServeOptions | undefined;
  const startServer = (given: ServeOptions) => {
    options = given;
    return Promise.reject(new Error("not started: the test only wanted the options"));
  };
  const code = await main(["node", "steadymesh", "serve", ...args], { stdout: stdout.stream, stderr: stderr.stream, startServer, logger });
  return { code, stdout: stdout.text(), stderr: stderr.text(), options };
}

test("serve config - the file takes every flag, and a flag on the command line wins over it", async () => {
  const file = configFile(
    "full.yaml",
    ["xds-port: 19000", "admin-port: 19001", "dns-ttl: 30", "canary: [node-id=a-*, node-id=b-*]", "guard: false", "tls: true", "auth: 'on'", "xds-bind: 127.0.0.2", "cert-ttl: 2h", "store: memory"].join("\n"),
  );
  const fromFile = await serveOptions(["--config", file]);
  assert.equal(fromFile.options?.xdsPort, 19000);
  assert.equal(fromFile.options?.adminPort, 19001);
  assert.equal(fromFile.options?.dnsTtlSeconds, 30);
  assert.deepEqual(fromFile.options?.rollout.canary, [{ kind: "node-id", glob: "a-*" }, { kind: "node-id", glob: "b-*" }]);
  assert.equal(fromFile.options?.guard.enabled, false);
  assert.deepEqual(fromFile.options?.tls, { sans: [] });
  assert.equal(fromFile.options?.xdsBind, "127.0.0.2");
  assert.equal(fromFile.options?.certTtlMs, 2 * 3600_000);
  assert.equal(fromFile.options?.store, "memory");

  const overridden = await serveOptions(["--xds-port", "0", "--config", file, "--canary", "node-id=c-*", "--dns-ttl", "5"]);
  assert.equal(overridden.options?.xdsPort, 0);
  assert.equal(overridden.options?.adminPort, 19001);
  assert.equal(overridden.options?.dnsTtlSeconds, 5);
  // A repeatable flag on the command line replaces the file's whole list.
  assert.deepEqual(overridden.options?.rollout.canary, [{ kind: "node-id", glob: "c-*" }]);
  assert.equal(overridden.options?.guard.enabled, false);
});

test("serve config - bad values are all named with their path in one line, and nothing starts", async () => {
  const file = configFile("bad.yaml", 'xds-port: x\ncanary: [node-id=ok, "not a selector"]\ntls: "yes"\nbind: [127.0.0.1]\n');
  const result = await serveOptions(["--config", file]);
  assert.equal(result.code, 1);
  assert.equal(result.options, undefined);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    `steadymesh: error: ${file}: xds-port: must be an integer from 0 to 65535, got "x"; ` +
      `canary[1]: must be node-id=GLOB (e.g. node-id=canary-*) or metadata.KEY=VALUE (e.g. metadata.canary=true), got "not a selector"; ` +
      `tls: must be true or false, got "yes"; bind: must be a single value, got ["127.0.0.1"]\n`,
  );
});

test("serve config - unknown keys are refused with the allowed ones; so are --config itself, a list at the top and a missing file", async () => {
  const unknown = await serveOptions(["--config", configFile("unknown.yaml", "xds_port: 1\nconfig: other.yaml\n")]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^steadymesh: error: .*unknown\.yaml: xds_port: unknown key; allowed: admin-bind, admin-host, .*xds-bind, xds-port; config: unknown key; allowed: /);
  assert.equal(unknown.stderr.split("\n").length, 2);
  const list = await serveOptions(["--config", configFile("list.yaml", "- xds-port: 1\n")]);
  assert.match(list.stderr, /list\.yaml: must be a mapping of flag names to values, e.g\. xds-port: 18000\n$/);
  const missing = await serveOptions(["--config", join(dir, "none.yaml")]);
  assert.match(missing.stderr, /^steadymesh: error: --config .*none\.yaml cannot be read: ENOENT\n$/);
  const yaml = await serveOptions(["--config", configFile("broken.yaml", "xds-port: [1\n")]);
  assert.match(yaml.stderr, /broken\.yaml: not valid YAML: /);
});

test("serve config - the checks across flags see the file's values", async () => {
  const result = await serveOptions(["--config", configFile("clash.yaml", "xds-port: 18100\nadmin-port: 18100\n")]);
  assert.equal(result.stderr, "steadymesh: error: --xds-port and --admin-port are both 18100; they must differ (0 picks a free port)\n");
  const auth = await serveOptions(["--config", configFile("auth.yaml", "admin-bind: 10.0.0.5\nauth: 'off'\n")]);
  assert.match(auth.stderr, /--auth off is allowed only with a loopback --admin-bind .*not 10\.0\.0\.5/);
});

/** The words of a systemd command line (no quoting is used in the example). */
function execLine(unit: string, key: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `${key}= in the unit`);
  return line.slice(key.length + 1).trim().split(/\s+/);
}

function fakeSignals(): SignalSource & { emit(signal: StopSignal): void } {
  const emitter = new EventEmitter();
  return { once: (s, l) => void emitter.once(s, l), off: (s, l) => void emitter.off(s, l), exit: () => undefined, emit: (s) => void emitter.emit(s) };
}

test("serve config - the systemd unit's ExecStart runs serve --config with the shipped example, which checks and starts", async () => {
  const unit = readFileSync(join(EXAMPLES, "steadymesh.service"), "utf8");
  const [binary, ...args] = execLine(unit, "ExecStart");
  assert.match(binary!, /^\/.*\/steadymesh$/, "systemd needs an absolute path");
  assert.deepEqual(args, ["serve", "--config", "/etc/steadymesh/steadymesh.yaml"]);
  assert.deepEqual(execLine(unit, "ExecStartPre"), [binary, ...args, "--check-config"]);
  const settings = new Set(unit.split("\n").map((l) => l.trim()));
  for (const line of ["Restart=on-failure", "DynamicUser=yes", "StateDirectory=steadymesh", "ConfigurationDirectory=steadymesh", "NoNewPrivileges=yes", "ProtectSystem=strict"]) assert.ok(settings.has(line), line);

  const example = join(EXAMPLES, "steadymesh.yaml");
  // StateDirectory=steadymesh is /var/lib/steadymesh: the example's data dir.
  assert.match(readFileSync(example, "utf8"), /^data-dir: \/var\/lib\/steadymesh$/m);
  const withExample = args.map((arg) => (arg === "/etc/steadymesh/steadymesh.yaml" ? example : arg));
  const stdout = capture();
  const checked = await main(["node", "steadymesh", ...withExample, "--check-config"], { stdout: stdout.stream, stderr: capture().stream, logger });
  assert.equal(checked, 0);
  assert.equal(stdout.text(), `steadymesh: ${example}: valid; would listen on xds 0.0.0.0:18000, admin 127.0.0.1:18080, dns 127.0.0.1:18053\n`);

  // And it starts, with free loopback ports and a data dir of the test's own.
  const dataDir = mkdtempSync(join(dir, "data-"));
  const signals = fakeSignals();
  const started = capture();
  const running = main(["node", "steadymesh", ...withExample, "--xds-bind", "127.0.0.1", "--xds-port", "0", "--admin-port", "0", "--dns-port", "0", "--data-dir", dataDir], { stdout: started.stream, stderr: capture().stream, signals, logger });
  for (let i = 0; i < 200 && !started.text().includes("dns listening"); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(started.text(), /^steadymesh: xds listening on 127\.0\.0\.1:\d+\nsteadymesh: admin listening on 127\.0\.0\.1:\d+\nsteadymesh: dns listening on 127\.0\.0\.1:\d+\n$/);
  signals.emit("SIGTERM");
  assert.equal(await running, 0);
  assert.deepEqual(readFileSync(join(dataDir, "ca.pem"), "utf8").startsWith("-----BEGIN CERTIFICATE-----"), true);
});
