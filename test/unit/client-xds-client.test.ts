/**
 * The resolver's ADS client and its connection states (idle, connecting,
 * streaming, backoff, closed), driven through a fake transport and a fake
 * clock: no sockets, no sleeping.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AdsStream, AdsStreamHandlers, AdsTransport } from "../../src/client/ads-transport.js";
import { silentClientLogger } from "../../src/client/logger.js";
import { createXdsClient, type ResourceUpdate, type XdsClient, type XdsClientDeps } from "../../src/client/xds-client.js";
import { LISTENER_TYPE, loadCodec, type DiscoveryRequest } from "../../src/proto/index.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";

const codec = loadCodec();
const STREAM_TIMEOUT_MS = 1000;
const BACKOFF_MS = 250;

type EmittedEvent = Parameters<XdsClientDeps["emit"]>[0];

interface FakeStream extends AdsStream {
  readonly server: string;
  readonly requests: DiscoveryRequest[];
  readonly handlers: AdsStreamHandlers;
  cancelled: boolean;
}

interface Harness {
  readonly client: XdsClient;
  readonly clock: FakeClock;
  readonly streams: FakeStream[];
  readonly events: EmittedEvent[];
  /** What connection listeners were told, in order. */
  readonly told: boolean[];
  readonly backoff: { resets: number; nexts: number };
  transportClosed: boolean;
  last(): FakeStream;
}

function harness(servers: readonly string[]): Harness {
  const clock = createFakeClock();
  const streams: FakeStream[] = [];
  const events: EmittedEvent[] = [];
  const backoffCounts = { resets: 0, nexts: 0 };
  const h = { transportClosed: false } as { transportClosed: boolean };
  const transport: AdsTransport = {
    open(server, handlers) {
      const stream: FakeStream = {
        server,
        handlers,
        requests: [],
        cancelled: false,
        write: (request) => stream.requests.push(request),
        cancel: () => void (stream.cancelled = true),
      };
      streams.push(stream);
      return stream;
    },
    close: () => void (h.transportClosed = true),
  };
  const client = createXdsClient({
    servers,
    node: { id: "node-1", cluster: "c", locality: { region: "", zone: "", sub_zone: "" }, user_agent_name: "test", user_agent_version: "0" },
    codec,
    transport,
    clock,
    backoff: {
      next: () => (backoffCounts.nexts++, BACKOFF_MS),
      reset: () => void backoffCounts.resets++,
    },
    streamTimeoutMs: STREAM_TIMEOUT_MS,
    strict: false,
    logger: silentClientLogger,
    emit: (event) => events.push(event),
  });
  const told: boolean[] = [];
  client.onConnectionChange((connected) => told.push(connected));
  return Object.assign(h, { client, clock, streams, events, told, backoff: backoffCounts, last: () => streams[streams.length - 1]! });
}

/** An empty Listener response: answers the stream, and deletes every watched Listener (State of the World). */
function answer(stream: FakeStream, version = "1", nonce = "n1"): void {
  stream.handlers.onResponse({ version_info: version, resources: [], type_url: LISTENER_TYPE, nonce });
}

const watchListener = (h: Harness, updates: ResourceUpdate[] = []) => h.client.watch(LISTENER_TYPE, "greeter", (u) => updates.push(u));

test("xds client - stays idle, with no stream, until the first watch", () => {
  const h = harness(["a:1"]);
  assert.equal(h.streams.length, 0);
  assert.equal(h.clock.pending(), 0);
  watchListener(h);
  assert.equal(h.streams.length, 1);
  assert.equal(h.last().server, "a:1");
  assert.equal(h.client.isConnected(), false, "connecting is not connected");
  assert.equal(h.client.allServersFailed(), false);
  const [first] = h.last().requests;
  assert.deepEqual(first?.resource_names, ["greeter"]);
  assert.equal(first?.node?.id, "node-1", "the first request of a stream carries the node");
  assert.equal(first?.response_nonce, "");
});

test("xds client - connecting fails over server by server, then backs off with every server failed", () => {
  const h = harness(["a:1", "b:2"]);
  watchListener(h);
  h.last().handlers.onEnd("UNAVAILABLE: refused");
  assert.equal(h.streams.length, 2, "failed over at once, no backoff");
  assert.equal(h.last().server, "b:2");
  assert.equal(h.streams[0]!.cancelled, true);
  assert.equal(h.client.allServersFailed(), false, "b:2 is not tried yet");
  assert.deepEqual(h.told, [], "a failover within a round tells no listener");
  assert.ok(h.events.some((e) => e.type === "xds-failover" && e.from === "a:1" && e.to === "b:2" && e.reason === "UNAVAILABLE: refused"));

  h.last().handlers.onEnd("UNAVAILABLE: refused too");
  assert.equal(h.streams.length, 2, "in backoff: no stream");
  assert.equal(h.client.allServersFailed(), true);
  assert.deepEqual(h.told, [false], "listeners learn at once that the round failed");
  assert.match(h.client.describe(), /b:2: UNAVAILABLE: refused too/);
  assert.equal(h.backoff.nexts, 1);

  h.clock.advance(BACKOFF_MS - 1);
  assert.equal(h.streams.length, 2);
  h.clock.advance(1);
  assert.equal(h.streams.length, 3, "retried after the backoff");
  assert.equal(h.last().server, "a:1", "a new round starts at the first server");
  assert.equal(h.client.allServersFailed(), true, "still failed until a server answers");
  assert.equal(h.last().requests[0]?.node?.id, "node-1", "a new stream sends the node again");
});

test("xds client - a stream that answers nothing within streamTimeoutMs is abandoned as stalled", () => {
  const h = harness(["a:1", "b:2"]);
  watchListener(h);
  h.clock.advance(STREAM_TIMEOUT_MS - 1);
  assert.equal(h.streams.length, 1);
  h.clock.advance(1);
  assert.equal(h.streams[0]!.cancelled, true);
  assert.equal(h.last().server, "b:2");
  assert.ok(h.events.some((e) => e.type === "xds-failover" && /stalled/.test(e.reason)));
});

test("xds client - the first answer connects; an end while streaming backs off and reconnects from the first server", () => {
  const h = harness(["a:1", "b:2"]);
  const updates: ResourceUpdate[] = [];
  watchListener(h, updates);
  h.last().handlers.onEnd("UNAVAILABLE: down");
  const b = h.last();
  answer(b, "7", "n7");
  assert.equal(h.client.isConnected(), true);
  assert.equal(h.client.allServersFailed(), false);
  assert.equal(h.client.describe(), "connected to b:2");
  assert.deepEqual(h.told, [true]);
  assert.equal(h.backoff.resets, 1, "an answer resets the backoff");
  assert.deepEqual(updates.map((u) => u.status), ["missing"], "the empty Listener response deleted greeter");
  const ack = b.requests[b.requests.length - 1]!;
  assert.equal(ack.version_info, "7");
  assert.equal(ack.response_nonce, "n7");
  assert.equal(ack.node, undefined, "only a stream's first request carries the node");
  h.clock.advance(STREAM_TIMEOUT_MS * 10);
  assert.equal(h.streams.length, 2, "a stream that answered is not timed out");

  b.handlers.onEnd("UNAVAILABLE: gone");
  assert.equal(h.client.isConnected(), false);
  assert.equal(h.client.allServersFailed(), false, "one lost stream is not a failed round");
  assert.deepEqual(h.told, [true, false]);
  assert.ok(h.events.some((e) => e.type === "xds-disconnected" && e.server === "b:2"));
  assert.equal(h.streams.length, 2, "a stream that answered is followed by a backoff, not a failover");
  h.clock.advance(BACKOFF_MS);
  const again = h.last();
  assert.equal(again.server, "a:1");
  assert.equal(again.requests[0]?.version_info, "7", "the accepted version survives the stream");
  assert.equal(again.requests[0]?.response_nonce, "", "nonces belong to the stream");
});

test("xds client - a stream already left is ignored", () => {
  const h = harness(["a:1", "b:2"]);
  watchListener(h);
  const a = h.last();
  a.handlers.onEnd("UNAVAILABLE: refused");
  const b = h.last();
  a.handlers.onEnd("CANCELLED: late");
  answer(a);
  assert.equal(h.client.isConnected(), false, "a's late answer does not connect");
  assert.equal(h.streams.length, 2);
  assert.equal(b.cancelled, false);
  answer(b);
  assert.equal(h.client.isConnected(), true);
});

test("xds client - close releases the stream and every timer, and nothing reopens", () => {
  const h = harness(["a:1"]);
  watchListener(h);
  h.last().handlers.onEnd("UNAVAILABLE: refused");
  assert.equal(h.clock.pending(), 1, "the backoff timer");
  h.client.close();
  assert.equal(h.clock.pending(), 0);
  assert.equal(h.transportClosed, true);
  h.clock.advance(BACKOFF_MS * 10);
  h.client.watch(LISTENER_TYPE, "other", () => undefined);
  assert.equal(h.streams.length, 1, "no stream after close");
  assert.equal(h.client.isConnected(), false);

  const s = harness(["a:1"]);
  watchListener(s);
  answer(s.last());
  s.client.close();
  assert.equal(s.last().cancelled, true);
  assert.equal(s.client.isConnected(), false);
  s.last().handlers.onEnd("CANCELLED: closed");
  assert.equal(s.clock.pending(), 0, "no backoff after close");
  assert.deepEqual(s.told, [true], "close tells no listener");
});
