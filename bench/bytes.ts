/**
 * `bytes`: bytes on the wire for a one-endpoint change at 10,000 endpoints
 * (1,000 services × 10; quick: 100 × 10), SotW against Delta.
 *
 * How: the real control plane in a server child (bench/xds/server-child.ts),
 * and two raw ADS clients in a worker process, each on its own HTTP/2
 * connection through its own byte-counting TCP proxy on loopback
 * (bench/xds/byte-proxy.ts), so HTTP/2 and gRPC framing count:
 * - SotW: EDS subscribed by name to every service (what Envoy does after a
 *   wildcard CDS);
 * - Delta: a wildcard EDS subscription.
 * Once both are synced and idle, the bench arms them, changes svc-0's
 * instance i-0 (its weight) through the admin API, waits until both got the
 * update, lets 300 ms settle (ACKs, window updates), and reads the counters
 * for the window. One warm-up round, then 3 rounds; the figure is the median
 * of the rounds. The gRPC message sizes (protobuf payload of the update) are
 * reported beside it. SotW is the baseline.
 */
import { median } from "./percentiles.js";
import type { BenchRow, BenchSection } from "./section.js";
import { startByteProxy, type ByteProxy } from "./xds/byte-proxy.js";
import type { WaitResult } from "./xds/client-worker.js";
import { changeEndpoint, closeWorkers, EDS_TYPE, startServerChild, startWorkers, stopServerChild, type ServerChild } from "./xds/fleet.js";
import type { BenchChild } from "./xds/ipc.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const bytes: BenchSection = async (context) => {
  const services = context.quick ? 100 : 1000;
  const perService = 10;
  const rounds = 3;
  let server: ServerChild | undefined;
  let workers: BenchChild[] = [];
  const proxies: ByteProxy[] = [];
  try {
    server = await startServerChild(services, perService);
    context.log(`server up: ${services} services × ${perService} endpoints`);
    const sotwProxy = await startByteProxy(server.xdsPort);
    const deltaProxy = await startByteProxy(server.xdsPort);
    proxies.push(sotwProxy, deltaProxy);
    workers = await startWorkers(1);
    const worker = workers[0]!;
    const names = Array.from({ length: services }, (_, s) => `svc-${s}`);
    const opened = await worker.call<{ synced: number; errors: string[] }>("open", {
      streams: [
        { port: sotwProxy.port, protocol: "sotw", typeUrl: EDS_TYPE, names, nodeId: "bench-sotw" },
        { port: deltaProxy.port, protocol: "delta", typeUrl: EDS_TYPE, names: [], nodeId: "bench-delta" },
      ],
      timeoutMs: 60_000,
    });
    if (opened.synced < 2) throw new Error(`clients did not sync: ${opened.errors.join("; ")}`);
    await sleep(1000);
    const initial = { sotw: sotwProxy.toClient, delta: deltaProxy.toClient };
    context.log(`synced: initial sync SotW ${initial.sotw} B, Delta ${initial.delta} B on the wire`);

    const perRound: { sotwWire: number; deltaWire: number; sotwMessage: number; deltaMessage: number; sotwAck: number; deltaAck: number }[] = [];
    for (let r = -1; r < rounds; r++) {
      const before = { sc: sotwProxy.toClient, dc: deltaProxy.toClient, ss: sotwProxy.toServer, ds: deltaProxy.toServer };
      await worker.call("arm");
      await changeEndpoint(server, r + 3);
      const got = await worker.call<WaitResult>("wait", { timeoutMs: 30_000 });
      if (got.arrivals.some((a) => Number.isNaN(a))) throw new Error("a client did not receive the update");
      await sleep(300);
      const round = {
        sotwWire: sotwProxy.toClient - before.sc,
        deltaWire: deltaProxy.toClient - before.dc,
        sotwMessage: got.sizes[0]!,
        deltaMessage: got.sizes[1]!,
        sotwAck: sotwProxy.toServer - before.ss,
        deltaAck: deltaProxy.toServer - before.ds,
      };
      if (r >= 0) perRound.push(round);
      context.log(`${r < 0 ? "warm-up" : `round ${r + 1}`}: SotW ${round.sotwWire} B on the wire (message ${round.sotwMessage} B), Delta ${round.deltaWire} B (message ${round.deltaMessage} B)`);
    }
    const m = (k: keyof (typeof perRound)[number]) => median(perRound.map((p) => p[k]));
    const deltaWire = m("deltaWire");
    const rows: BenchRow[] = [
      { metric: `Delta one-endpoint change on the wire @ ${services * perService} endpoints`, value: deltaWire, unit: "B", baseline: { name: "SotW (EDS by name, all services)", value: m("sotwWire") }, goal: "≤ 1 KB", met: deltaWire <= 1024 },
      { metric: `Delta update message (gRPC payload) @ ${services * perService} endpoints`, value: m("deltaMessage"), unit: "B", baseline: { name: "SotW update message", value: m("sotwMessage") } },
    ];
    return {
      name: "bytes",
      rows,
      details: { services, endpoints: services * perService, initialSyncBytes: initial, perRound, medians: { sotwWire: m("sotwWire"), deltaWire, sotwMessage: m("sotwMessage"), deltaMessage: m("deltaMessage"), sotwAckBytes: m("sotwAck"), deltaAckBytes: m("deltaAck") } },
      notes: [
        "Wire bytes are server → client TCP payload through a counting proxy on loopback, from arming the clients to 300 ms after both received the update: HTTP/2 frame headers, gRPC's 5-byte message prefix, the protobuf response, and any WINDOW_UPDATE/PING frames in that window. The client's ACK (client → server) is in the details.",
        "The SotW client subscribes to EDS by name for every service (as Envoy does after a wildcard CDS); the Delta client has a wildcard EDS subscription. Median of 3 rounds after a warm-up round.",
      ],
    };
  } finally {
    await closeWorkers(workers);
    if (server) await stopServerChild(server);
    await Promise.allSettled(proxies.map((p) => p.close()));
  }
};
