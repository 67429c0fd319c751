import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, test } from "node:test";
import dnsPacket, { type Answer } from "dns-packet";
import { createDnsSource, describeDnsError } from "../../src/client/dns-source.js";
import { ValidationError } from "../../src/errors/index.js";

/**
 * A tiny authoritative DNS server on 127.0.0.1, UDP port 0. Names in
 * `records` answer with those records (or NOERROR/no data for another type);
 * `silent` names are never answered; anything else is NXDOMAIN.
 */
interface FakeDns {
  readonly server: string;
  /** Questions received, as "TYPE name". */
  readonly queries: string[];
  close(): Promise<void>;
}

const NXDOMAIN = 3;

async function startFakeDns(records: Record<string, Answer[]>, silent: ReadonlySet<string>): Promise<FakeDns> {
  const socket = dgram.createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (message, peer) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    queries.push(`${question.type} ${question.name}`);
    if (silent.has(question.name)) return;
    const known = records[question.name];
    const answers = (known ?? []).filter((a) => a.type === question.type);
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | (known ? 0 : NXDOMAIN);
    const response = dnsPacket.encode({ type: "response", id: query.id, flags, questions: [question], answers });
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

const srv = (name: string, target: string, port: number, weight: number): Answer => ({
  type: "SRV",
  name,
  ttl: 60,
  data: { target, port, weight, priority: 0 },
});
const a = (name: string, address: string, ttl: number): Answer => ({ type: "A", name, ttl, data: address });
const aaaa = (name: string, address: string, ttl: number): Answer => ({ type: "AAAA", name, ttl, data: address });

let fake: FakeDns;

before(async () => {
  fake = await startFakeDns(
    {
      "_login._tcp.service.mesh": [
        srv("_login._tcp.service.mesh", "login-1.node.mesh", 8080, 0),
        srv("_login._tcp.service.mesh", "login-2.node.mesh", 8081, 5),
        // The same host and port twice, with another weight: one endpoint, the larger weight.
        srv("_login._tcp.service.mesh", "login-1.node.mesh", 8080, 3),
        // A second name for login-1's address: deduplicated by address:port.
        srv("_login._tcp.service.mesh", "alias.node.mesh", 8080, 1),
      ],
      "login-1.node.mesh": [a("login-1.node.mesh", "10.0.0.1", 30)],
      "alias.node.mesh": [a("alias.node.mesh", "10.0.0.1", 30)],
      "login-2.node.mesh": [a("login-2.node.mesh", "10.0.0.2", 10), aaaa("login-2.node.mesh", "fd00::2", 20)],
      "_solo._tcp.service.mesh": [srv("_solo._tcp.service.mesh", "login-1.node.mesh", 7000, 0)],
      "_empty._tcp.service.mesh": [],
      "_orphan._tcp.service.mesh": [srv("_orphan._tcp.service.mesh", "nowhere.node.mesh", 9000, 1)],
      "nowhere.node.mesh": [],
    },
    new Set(["_stall._tcp.service.mesh"]),
  );
});

after(async () => {
  await fake.close();
});

test("client - DNS source resolves SRV then A/AAAA into sorted, deduplicated endpoints", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 500, tries: 1 });
  const result = await source.lookup("login");
  source.close();
  assert.deepEqual(result, {
    ok: true,
    endpoints: [
      { address: "10.0.0.1", port: 8080, weight: 3 },
      { address: "10.0.0.2", port: 8081, weight: 5 },
      { address: "fd00::2", port: 8081, weight: 5 },
    ],
    ttlSeconds: 10,
  });
  assert.ok(fake.queries.includes("SRV _login._tcp.service.mesh"));
  assert.ok(fake.queries.includes("AAAA login-1.node.mesh"), "both families are asked for");
});

test("client - DNS source turns SRV weight 0 into 1", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 500, tries: 1 });
  const result = await source.lookup("solo");
  source.close();
  assert.deepEqual(result, { ok: true, endpoints: [{ address: "10.0.0.1", port: 7000, weight: 1 }], ttlSeconds: 30 });
});

test("client - DNS source reports SRV targets that have no addresses", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 500, tries: 1 });
  const result = await source.lookup("orphan");
  assert.deepEqual(result, { ok: false, reason: "no A/AAAA records for the SRV targets of _orphan._tcp.service.mesh" });
  source.close();
});

test("client - DNS source reports NXDOMAIN with the queried name", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 500, tries: 1 });
  assert.deepEqual(await source.lookup("billing"), { ok: false, reason: "NXDOMAIN for _billing._tcp.service.mesh" });
  assert.deepEqual(await source.lookup("empty"), { ok: false, reason: "no SRV records for _empty._tcp.service.mesh" });
  source.close();
});

test("client - DNS source reports a timeout naming the server", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 200, tries: 1 });
  const result = await source.lookup("stall");
  source.close();
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.reason.startsWith(`timeout querying ${fake.server}`), JSON.stringify(result));
});

test("client - DNS source cancel ends outstanding lookups, close ends later ones", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh", timeoutMs: 5000, tries: 1 });
  const pending = source.lookup("stall");
  source.cancel();
  assert.deepEqual(await pending, { ok: false, reason: "lookup of _stall._tcp.service.mesh cancelled" });
  source.close();
  assert.deepEqual(await source.lookup("login"), { ok: false, reason: "DNS source is closed" });
});

test("client - DNS source refuses a service name that is not a DNS label without querying", async () => {
  const source = createDnsSource({ server: fake.server, domain: "mesh" });
  const before = fake.queries.length;
  const result = await source.lookup("Login/../x");
  source.close();
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.reason : "", /invalid service name "Login\/\.\.\/x"/);
  assert.equal(fake.queries.length, before);
});

test("client - DNS source rejects bad options with every problem", () => {
  assert.throws(
    () => createDnsSource({ server: "dns.example:53", domain: "Mesh!", timeoutMs: 0, tries: 1.5 }),
    (err: unknown) =>
      err instanceof ValidationError && err.issues.map((i) => i.path).join() === "domain,timeoutMs,tries",
  );
  assert.throws(() => createDnsSource({ server: "dns.example:53", domain: "mesh" }), (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === "server");
});

test("client - DNS source maps resolver error codes to short reasons", () => {
  const fail = (code: string) => Object.assign(new Error(`query ${code}`), { code });
  const name = "_login._tcp.service.mesh";
  assert.equal(describeDnsError(fail("ECONNREFUSED"), name, "SRV", "127.0.0.1:18053"), "connection refused by 127.0.0.1:18053");
  assert.equal(describeDnsError(fail("ESERVFAIL"), name, "SRV", "127.0.0.1:18053"), `SERVFAIL from 127.0.0.1:18053 for ${name}`);
  assert.equal(describeDnsError(fail("EWHAT"), name, "SRV", "s"), `EWHAT querying s for ${name}: query EWHAT`);
});
