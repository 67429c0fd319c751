import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { DnsResult } from "../../src/client/dns-source.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createSilentLogger } from "../../src/log/index.js";
import { parseDemoArgs } from "../../src/demo/cli.js";
import { addressList, createDnsChannel } from "../../src/demo/dns-channel.js";
import { demoCommand, demoCredentials } from "../../src/demo/index.js";
import { createLoginService } from "../../src/demo/login.js";
import { loadDemoProto } from "../../src/demo/proto.js";
import { RpcFailure } from "../../src/demo/rpc.js";
import { createSessionTokens } from "../../src/demo/session-token.js";
import { createUserTable } from "../../src/demo/user-table.js";
import { capture } from "../helpers/io.js";

test("demo - session tokens verify while unexpired and untouched", () => {
  const clock = createFakeClock(1_000);
  const tokens = createSessionTokens({ secret: "s1", ttlMs: 60_000, clock });
  const token = tokens.issue("uid-7");
  assert.deepEqual(tokens.verify(token), { userId: "uid-7" });
  assert.equal(tokens.verify(token.replace("uid-7", "uid-8")), undefined, "a changed user id breaks the signature");
  assert.equal(tokens.verify(`${token.slice(0, -2)}xx`), undefined, "a changed signature fails");
  assert.equal(tokens.verify("v1.uid-7.99999999"), undefined, "three parts are not a token");
  assert.equal(createSessionTokens({ secret: "s2", ttlMs: 60_000, clock }).verify(token), undefined, "another secret fails");
  clock.advance(59_999);
  assert.deepEqual(tokens.verify(token), { userId: "uid-7" });
  clock.advance(1);
  assert.equal(tokens.verify(token), undefined, "expired at issue time + ttl");
});

test("demo - users are deterministic: user<i> has password pw-<i> and id uid-<i>", () => {
  const users = createUserTable(10);
  const { user, password } = demoCredentials(3);
  assert.equal(users.checkPassword(user, password), true);
  assert.equal(users.checkPassword(user, "pw-4"), false);
  assert.equal(users.checkPassword("user10", "pw-10"), false, "user10 is outside 0..9");
  assert.equal(users.checkPassword("user03", "pw-3"), false, "no leading zeros");
  assert.equal(users.lookup("user3")?.userId, "uid-3");
  assert.equal(users.lookup("user3")?.passwordHash, createUserTable(5).lookup("user3")?.passwordHash, "same hash in every instance");
  assert.notEqual(users.lookup("user3")?.passwordHash, password);
  assert.equal(users.lookup("nobody"), undefined);
  assert.throws(() => createUserTable(0), /from 1 to 1000000/);
});

test("demo - an endpoint list becomes one ipv4: (else ipv6:) target", () => {
  assert.equal(addressList([{ address: "127.0.0.1", port: 1 }, { address: "10.0.0.2", port: 2 }]), "ipv4:127.0.0.1:1,10.0.0.2:2");
  assert.equal(addressList([{ address: "::1", port: 3 }]), "ipv6:[::1]:3");
  assert.equal(addressList([{ address: "::1", port: 3 }, { address: "127.0.0.1", port: 4 }]), "ipv4:127.0.0.1:4", "IPv4 wins a mix");
  assert.equal(addressList([]), undefined);
});

/** A DNS source whose answers the test sets; lookups resolve at once. */
function fakeSource(first: DnsResult) {
  let next = first;
  let lookups = 0;
  return {
    source: { srvName: (s: string) => `_${s}._tcp.service.mesh`, lookup: async () => (lookups++, next) },
    answer: (result: DnsResult) => void (next = result),
    lookups: () => lookups,
  };
}

const ok = (...ports: number[]): DnsResult => ({ ok: true, endpoints: ports.map((port) => ({ address: "127.0.0.1", port, weight: 1 })) });
const settle = () => new Promise((resolve) => setImmediate(resolve));

function recordingClients() {
  const made: { target: string; closed: boolean }[] = [];
  const createClient = (target: string) => {
    const entry = { target, closed: false };
    made.push(entry);
    return { close: () => void (entry.closed = true) } as unknown as grpc.Client;
  };
  return { made, createClient };
}

test("demo - dns channel follows SRV answers and keeps the last good one when DNS fails", async () => {
  const clock = createFakeClock();
  const dns = fakeSource(ok(5001, 5002));
  const { made, createClient } = recordingClients();
  const channel = createDnsChannel({ service: "login", source: dns.source, refreshMs: 2000, createClient, clock, logger: createSilentLogger() });
  assert.equal(channel.target, "dns:_login._tcp.service.mesh");
  const first = await channel.client();
  assert.deepEqual(made.map((m) => m.target), ["ipv4:127.0.0.1:5001,127.0.0.1:5002"]);

  dns.answer({ ok: false, reason: "timeout querying 127.0.0.1:18053" });
  clock.advance(2000);
  await settle();
  assert.equal(dns.lookups(), 2);
  assert.equal(await channel.client(), first, "a failed lookup keeps the channel");

  dns.answer(ok(5003));
  clock.advance(2000);
  await settle();
  assert.notEqual(await channel.client(), first);
  assert.equal(made[1]?.target, "ipv4:127.0.0.1:5003");
  assert.equal(made[0]?.closed, false, "the old channel stays open for calls in flight");
  clock.advance(10_000);
  assert.equal(made[0]?.closed, true);

  channel.close();
  assert.equal(made[1]?.closed, true);
  assert.equal(clock.pending(), 0, "no timer left after close");
  await assert.rejects(channel.client(), (err: RpcFailure) => err.code === grpc.status.UNAVAILABLE);
});

test("demo - dns channel that never got an answer fails calls with UNAVAILABLE and the DNS reason", async () => {
  const clock = createFakeClock();
  const dns = fakeSource({ ok: false, reason: "NXDOMAIN for _login._tcp.service.mesh" });
  const { made, createClient } = recordingClients();
  const channel = createDnsChannel({ service: "login", source: dns.source, refreshMs: 2000, createClient, clock, logger: createSilentLogger() });
  await assert.rejects(channel.client(), (err: unknown) => {
    assert.ok(err instanceof RpcFailure);
    assert.equal(err.codeName, "UNAVAILABLE");
    assert.match(err.details, /^dns:_login\._tcp\.service\.mesh: no endpoints from DNS \(NXDOMAIN for _login/);
    return true;
  });
  assert.equal(made.length, 0);
  dns.answer(ok(5001));
  clock.advance(2000);
  await settle();
  await channel.client();
  assert.equal(made.length, 1);
  channel.close();
});

async function parse(...args: string[]) {
  const out = capture();
  return parseDemoArgs(["node", "main.ts", ...args], out.stream, {});
}

test("demo - command line: defaults match steadymesh serve's, bad input is one line naming the flag", async () => {
  const config = await parse("login", "--id", "login-1");
  assert.equal(config?.discovery, "steady");
  assert.equal(config?.register, true);
  assert.deepEqual(config?.settings.xdsServers, ["127.0.0.1:18000"]);
  assert.equal(config?.settings.dnsServer, "127.0.0.1:18053");
  assert.equal(config?.settings.nodeId, "login-1");
  assert.deepEqual(config?.adminUrls, ["http://127.0.0.1:18080"]);
  assert.deepEqual((await parse("login", "--admin", "http://127.0.0.1:1/", "--admin", "http://127.0.0.1:2"))?.adminUrls, ["http://127.0.0.1:1", "http://127.0.0.1:2"], "--admin repeats: one control plane each");
  assert.equal((await parse("playback", "--no-register"))?.register, false);
  assert.equal((await parse("gateway"))?.register, false, "gateways never register");
  assert.equal(await parse("gateway", "--help"), undefined);
  const bad: [string[], RegExp][] = [
    [["gateway", "--discovery", "consul"], /--discovery <mode>.*'consul' is invalid\. Allowed choices are xds, steady, dns/],
    [["gateway", "--discovery", "xds"], /--discovery xds needs a bootstrap/],
    [["accounts", "--port", "70000"], /--port <port>.*from 0 to 65535/],
    [["accounts", "--id", "Bad_Id"], /--id <id>.*DNS label/],
    [["accounts", "--discovery", "dns"], /unknown option '--discovery'/],
    [["login", "--bootstrap", "{nope"], /--bootstrap <json\|file>.*bootstrap JSON/],
    [["login", "--dns-server", "localhost:53"], /--dns-server <ip:port>.*IP:PORT/],
    [["frontend"], /unknown command 'frontend'/],
    [[], /missing kind; use one of accounts, login, playback, gateway/],
  ];
  for (const [args, message] of bad) {
    await assert.rejects(parse(...args), (err: Error) => {
      assert.match(err.message, message, args.join(" "));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

test("demo - spawn command: each kind gets only the flags it takes", () => {
  const options = { id: "x-1", admin: "http://127.0.0.1:1", discovery: "xds" as const, bootstrap: { xds_servers: [] }, users: 5, register: false };
  const accounts = demoCommand("accounts", options);
  assert.deepEqual(accounts.slice(accounts.indexOf("accounts")), ["accounts", "--id", "x-1", "--port", "0", "--admin", "http://127.0.0.1:1", "--no-register", "--users", "5"]);
  const gateway = demoCommand("gateway", options);
  assert.deepEqual(gateway.slice(gateway.indexOf("gateway")), [
    "gateway", "--id", "x-1", "--port", "0", "--admin", "http://127.0.0.1:1", "--discovery", "xds", "--bootstrap", '{"xds_servers":[]}',
  ]);
});

test("demo - command line: --metadata KEY=VALUE repeats into the registered metadata; login's --fail takes a gRPC status name", async () => {
  assert.deepEqual((await parse("login", "--metadata", "version=2", "--metadata", "track=canary"))?.metadata, { version: "2", track: "canary" });
  assert.deepEqual((await parse("accounts"))?.metadata, {});
  assert.equal((await parse("login", "--fail", "UNAVAILABLE"))?.failWith, grpc.status.UNAVAILABLE);
  assert.equal((await parse("login"))?.failWith, undefined);
  const bad: [string[], RegExp][] = [
    [["login", "--metadata", "version"], /--metadata <key=value>.*KEY=VALUE/],
    [["login", "--metadata", "=2"], /--metadata <key=value>.*KEY=VALUE/],
    [["login", "--metadata", "v=1", "--metadata", "v=2"], /--metadata <key=value>.*"v" is given twice/],
    [["gateway", "--metadata", "v=1"], /unknown option '--metadata'/],
    [["login", "--fail", "OK"], /--fail <code>.*other than OK: CANCELLED, UNKNOWN/],
    [["accounts", "--fail", "UNAVAILABLE"], /unknown option '--fail'/],
  ];
  for (const [args, message] of bad) {
    await assert.rejects(parse(...args), (err: Error) => {
      assert.match(err.message, message, args.join(" "));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

test("demo - spawn command: metadata for registered kinds, --fail for login only", () => {
  const options = { id: "x-1", metadata: { version: "2" }, fail: "UNAVAILABLE" };
  const login = demoCommand("login", options);
  assert.deepEqual(login.slice(login.indexOf("login")), ["login", "--id", "x-1", "--port", "0", "--metadata", "version=2", "--fail", "UNAVAILABLE"]);
  const accounts = demoCommand("accounts", options);
  assert.deepEqual(accounts.slice(accounts.indexOf("accounts")), ["accounts", "--id", "x-1", "--port", "0", "--metadata", "version=2"]);
  const gateway = demoCommand("gateway", options);
  assert.deepEqual(gateway.slice(gateway.indexOf("gateway")), ["gateway", "--id", "x-1", "--port", "0"]);
});

test("demo - a login instance with failWith fails every call with that code and never asks accounts", async () => {
  let asked = 0;
  const accounts = { target: "test:accounts", client: () => (asked++, Promise.reject(new RpcFailure(grpc.status.UNAVAILABLE, "no accounts in this test"))), close: () => undefined };
  const tokens = createSessionTokens({ secret: "s", ttlMs: 1000, clock: createFakeClock() });
  const call = (failWith: grpc.status | undefined) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const [, impl] = createLoginService({ proto: loadDemoProto(), accounts, tokens, deadlineMs: 100, id: "login-canary-0", logger: createSilentLogger(), failWith });
      (impl["Login"] as grpc.handleUnaryCall<unknown, unknown>)({ request: { user: "user0", password: "pw-0" } } as grpc.ServerUnaryCall<unknown, unknown>, (err) => resolve(err as grpc.ServiceError | null));
    });
  const failed = await call(grpc.status.UNAVAILABLE);
  assert.equal(failed?.code, grpc.status.UNAVAILABLE);
  assert.match(failed?.details ?? "", /login-canary-0 fails every call/);
  assert.equal(asked, 0);
  const normal = await call(undefined);
  assert.equal(asked, 1, "without failWith it asks accounts");
  assert.equal(normal?.code, grpc.status.UNAVAILABLE);
  assert.match(normal?.details ?? "", /no accounts in this test/);
});

test("demo - command line: admin tokens come from --admin-token-file (one for all, or one per --admin), else STEADYMESH_TOKEN", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-demo-token-"));
  try {
    await writeFile(join(dir, "a"), "token-a\n");
    await writeFile(join(dir, "b"), "token-b\n");
    const two = ["--admin", "http://127.0.0.1:1", "--admin", "http://127.0.0.1:2"];
    const out = capture();
    const parseWith = (env: NodeJS.ProcessEnv, ...args: string[]) => parseDemoArgs(["node", "main.ts", "accounts", ...args], out.stream, env);
    assert.deepEqual((await parseWith({}, ...two, "--admin-token-file", join(dir, "a"), "--admin-token-file", join(dir, "b")))?.adminTokens, ["token-a", "token-b"]);
    assert.deepEqual((await parseWith({}, ...two, "--admin-token-file", join(dir, "a")))?.adminTokens, ["token-a", "token-a"]);
    assert.deepEqual((await parseWith({ STEADYMESH_TOKEN: "from-env" }, ...two))?.adminTokens, ["from-env", "from-env"]);
    await assert.rejects(parseWith({}, "--admin-token-file", join(dir, "missing")), /--admin-token-file .*missing: cannot read it \(ENOENT\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
