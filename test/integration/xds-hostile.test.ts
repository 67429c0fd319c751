import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, afterEach, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, loadCodec, type ClusterLoadAssignment, type DiscoveryResponse } from "../../src/proto/index.js";
import { XDS_LIMITS } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";
import { openRawDeltaAds } from "../helpers/raw-delta-ads.js";

/**
 * Hostile clients against a real server: each test sends a bounded load
 * (seconds, tens of megabytes at most), then afterEach checks that the
 * server is up, its memory and its log stayed within bounds, GET /v1/clients
 * answers with a bounded body, and a well-behaved client on another stream
 * still gets its next update.
 */
const codec = loadCodec();
const node = { id: "hostile-1", cluster: "test", user_agent_name: "raw-test" };
/** Generous: the point is "bounded", not a figure; before the limits one stream took the server from 201 MB to 1.18 GB. */
const MAX_RSS_GROWTH = 300 * 1024 * 1024;
const MAX_LOG_BYTES = 256 * 1024;
const MAX_CLIENTS_BODY = 2 * 1024 * 1024;
/** Each test and hook is cut off after this: a regression fails, never hangs the suite. */
const BOUND_MS = 30_000;

/** Counts what the logger writes, keeping only the count and the messages' texts (bounded by what it counts). */
const log = { bytes: 0, lines: 0, messages: new Map<string, number>() };
const sink = new Writable({
  write(chunk: Buffer | string, _encoding, next) {
    const text = String(chunk);
    log.bytes += Buffer.byteLength(text);
    for (const line of text.split("\n")) {
      if (!line) continue;
      log.lines++;
      const msg = String((JSON.parse(line) as { msg?: string }).msg).slice(0, 60);
      log.messages.set(msg, (log.messages.get(msg) ?? 0) + 1);
    }
    next();
  },
});

let cp: TestControlPlane;
let rssAtStart = 0;
let good: RawAdsStream;
let goodPort = 7100;
const open: Array<{ close(): void }> = [];

function stream(): RawAdsStream {
  const s = openRawAds(cp.xds.port, codec);
  open.push(s);
  return s;
}

function ports(r: DiscoveryResponse): number[] {
  return r.resources.flatMap((x) => (codec.decodeResource(ENDPOINT_TYPE, x.value) as ClusterLoadAssignment).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0)));
}

/** Reads (and ACKs) the well-behaved stream's EDS responses until one holds `port`. */
async function goodSees(port: number): Promise<void> {
  for (;;) {
    const r = await good.next();
    good.send({ type_url: ENDPOINT_TYPE, resource_names: ["alpha"], version_info: r.version_info, response_nonce: r.nonce });
    if (ports(r).includes(port)) return;
  }
}

/** The stream's final status, or a failure when the server has not ended it within 5 s. */
function ended(s: { status(): Promise<grpc.StatusObject> }): Promise<grpc.StatusObject> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the server did not end the stream within 5 s")), 5000);
  });
  return Promise.race([s.status(), timeout]).finally(() => clearTimeout(timer));
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

before(async () => {
  cp = await startControlPlane({ logger: pino({ level: "info" }, sink) });
  await cp.register("alpha", "a0", goodPort);
  good = stream();
  good.send({ node: { ...node, id: "good-1" }, type_url: ENDPOINT_TYPE, resource_names: ["alpha"] });
  await goodSees(goodPort);
  rssAtStart = process.memoryUsage().rss;
});

afterEach(async () => {
  assert.equal((await cp.api("GET", "/healthz")).status, 200, "the server is up");
  const clients = await fetch(`${cp.adminUrl}/v1/clients`, { headers: cp.headers() });
  const body = await clients.text();
  assert.equal(clients.status, 200);
  assert.ok(body.length < MAX_CLIENTS_BODY, `GET /v1/clients answered ${body.length} characters`);
  goodPort++;
  await cp.register("alpha", `a${goodPort}`, goodPort);
  await goodSees(goodPort);
  const growth = process.memoryUsage().rss - rssAtStart;
  assert.ok(growth < MAX_RSS_GROWTH, `rss grew by ${Math.round(growth / 1e6)} MB`);
  assert.ok(log.bytes < MAX_LOG_BYTES, `the log took ${log.bytes} bytes in ${log.lines} lines: ${JSON.stringify([...log.messages])}`);
}, { timeout: BOUND_MS });

after(async () => {
  for (const s of open) s.close();
  await cp?.close();
});

test("xds hostile - megabyte type URLs on three streams: each stream is ended at its first, INVALID_ARGUMENT naming type_url and the limit", { timeout: BOUND_MS }, async () => {
  const streams = [stream(), stream(), stream()];
  for (const [i, s] of streams.entries()) {
    for (let n = 0; n < 20; n++) s.send({ node, type_url: `type.googleapis.com/${String(i * 100 + n).padStart(4, "0")}${"x".repeat(1024 * 1024)}` });
  }
  for (const s of streams) {
    const status = await ended(s);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(status.details, `type_url: must be at most ${XDS_LIMITS.maxTypeUrlChars} characters, got ${1024 * 1024 + 24}`);
  }
  assert.ok((await metric("steadymesh_xds_streams_limited_total", 'limit="maxTypeUrlChars"')) >= 3);
});

test("xds hostile - huge name lists: too many names, too long a name, or too large a request each end only their stream", { timeout: BOUND_MS }, async () => {
  const many = stream();
  many.send({ node, type_url: ENDPOINT_TYPE, resource_names: Array.from({ length: XDS_LIMITS.maxSubscribedNames + 1 }, (_, i) => `n${i}`) });
  const manyStatus = await ended(many);
  assert.equal(manyStatus.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(manyStatus.details, `resource_names: at most ${XDS_LIMITS.maxSubscribedNames} resource names per request, got ${XDS_LIMITS.maxSubscribedNames + 1}`);

  const long = stream();
  long.send({ node, type_url: CLUSTER_TYPE, resource_names: ["alpha", "y".repeat(XDS_LIMITS.maxResourceNameChars + 1)] });
  const longStatus = await ended(long);
  assert.equal(longStatus.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(longStatus.details, `resource_names[1]: must be at most ${XDS_LIMITS.maxResourceNameChars} characters, got ${XDS_LIMITS.maxResourceNameChars + 1}`);

  const large = stream();
  large.send({ node, type_url: CLUSTER_TYPE, resource_names: ["z".repeat(XDS_LIMITS.maxRequestBytes)] });
  const largeStatus = await ended(large);
  assert.equal(largeStatus.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match(largeStatus.details, /larger than max/);

  // Delta subscriptions add up across requests: the budget is the stream's, not the request's.
  const delta = openRawDeltaAds(cp.xds.port, codec);
  open.push(delta);
  const half = XDS_LIMITS.maxSubscribedNames / 2;
  delta.send({ node, type_url: ENDPOINT_TYPE, resource_names_subscribe: Array.from({ length: half }, (_, i) => `a${i}`) });
  delta.send({ type_url: CLUSTER_TYPE, resource_names_subscribe: Array.from({ length: half + 1 }, (_, i) => `b${i}`) });
  const deltaStatus = await ended(delta);
  assert.equal(deltaStatus.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(deltaStatus.details, `resource_names_subscribe: this stream would subscribe ${XDS_LIMITS.maxSubscribedNames + 1} resource names (all types together); at most ${XDS_LIMITS.maxSubscribedNames}`);
});

test("xds hostile - many distinct unknown type URLs: the stream is answered up to the limit, then ended with RESOURCE_EXHAUSTED", { timeout: BOUND_MS }, async () => {
  const s = stream();
  for (let i = 0; i <= XDS_LIMITS.maxUnknownTypes; i++) s.send({ node, type_url: `type.googleapis.com/hostile.Type${i}`, resource_names: ["x"] });
  for (let i = 0; i < XDS_LIMITS.maxUnknownTypes; i++) assert.equal((await s.next()).resources.length, 0);
  const status = await ended(s);
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(status.details, `type_url: at most ${XDS_LIMITS.maxUnknownTypes} distinct type URLs this server does not serve per stream; this request would make ${XDS_LIMITS.maxUnknownTypes + 1}`);
});

test("xds hostile - a NACK flood on one stream: a few warn lines with the count held back, the stored detail clipped", { timeout: BOUND_MS }, async () => {
  const s = stream();
  const id = "nack-flood-1";
  s.send({ node: { ...node, id }, type_url: CLUSTER_TYPE, resource_names: ["alpha"] });
  const r = await s.next();
  const suppressedBefore = await metric("steadymesh_log_lines_suppressed_total", 'kind="nack"');
  const nacksBefore = await metric("steadymesh_xds_nacks_total", 'type="CDS"');
  const message = `cluster alpha: ${"bad ".repeat(1250)}`;
  const flood = 5000;
  for (let i = 0; i < flood; i++) {
    s.send({ type_url: CLUSTER_TYPE, resource_names: ["alpha"], response_nonce: r.nonce, error_detail: { code: 3, message, details: [] } });
  }
  // A request answered at once: when its answer arrives, every NACK before it was handled.
  s.send({ type_url: "type.googleapis.com/hostile.Barrier" });
  assert.equal((await s.next(10_000)).type_url, "type.googleapis.com/hostile.Barrier");
  assert.equal((await metric("steadymesh_xds_nacks_total", 'type="CDS"')) - nacksBefore, flood, "every NACK was counted");
  const warned = log.messages.get("client NACKed a response") ?? 0;
  assert.ok(warned >= 1 && warned <= 10, `${warned} NACK warn lines`);
  assert.ok((await metric("steadymesh_log_lines_suppressed_total", 'kind="nack"')) - suppressedBefore >= flood - 10);
  const res = await cp.api("GET", "/v1/clients");
  const nack = res.body.clients.find((c: { nodeId: string }) => c.nodeId === id).types.CDS.lastNack;
  assert.ok(nack.errorDetail.message.startsWith("cluster alpha: bad bad"));
  assert.match(nack.errorDetail.message, /…\[\+\d+ chars\]$/);
  assert.ok(nack.errorDetail.message.length < 1100);
});

test("xds hostile - fat clients within every limit: GET /v1/clients stays bounded, clipped and paged", { timeout: BOUND_MS }, async () => {
  const fat = Array.from({ length: 6 }, () => stream());
  const names = Array.from({ length: 1900 }, (_, i) => `${String(i).padStart(4, "0")}${"n".repeat(XDS_LIMITS.maxResourceNameChars - 4)}`);
  for (const [i, s] of fat.entries()) {
    const bulky = { id: `fat-${i}-${"i".repeat(500_000)}`, cluster: "test", user_agent_name: "u".repeat(100_000), metadata: { blob: "m".repeat(1_000_000) } };
    // Two requests: together they would pass maxRequestBytes.
    s.send({ node: bulky, type_url: LISTENER_TYPE, resource_names: ["alpha"] });
    s.send({ type_url: CLUSTER_TYPE, resource_names: names });
  }
  for (const s of fat) assert.deepEqual([(await s.next()).type_url, (await s.next()).type_url], [LISTENER_TYPE, CLUSTER_TYPE]);
  const res = await fetch(`${cp.adminUrl}/v1/clients?limit=1000`, { headers: cp.headers() });
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.ok(body.length < MAX_CLIENTS_BODY, `GET /v1/clients answered ${body.length} characters`);
  const page = JSON.parse(body) as { clients: Array<{ nodeId: string; metadata: Record<string, string>; types: Record<string, { subscribed: string[]; subscribedCount: number }> }>; total: number };
  const shown = page.clients.filter((c) => c.nodeId.startsWith("fat-"));
  assert.equal(shown.length, 6);
  for (const c of shown) {
    assert.ok(c.nodeId.length < 300 && c.metadata.blob!.length < 300);
    assert.equal(c.types.CDS!.subscribedCount, 1900);
    assert.equal(c.types.CDS!.subscribed.length, 100);
  }
  for (const s of fat) s.close();
});
