import * as grpc from "@grpc/grpc-js";
import { createSystemClock, type Clock } from "../clock/index.js";
import { createLimitedLog, createLogRateLimiter, type Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { ClientStatus } from "./client-status.js";
import { createAdsServiceDefinition, type Codec, type DeltaDiscoveryRequest, type DiscoveryRequest } from "../proto/index.js";
import { DeltaStream } from "./delta-stream.js";
import { XDS_LIMITS, type XdsLimits } from "./limits.js";
import type { ClientReply } from "./reply-book.js";
import { SotwStream } from "./sotw-stream.js";
import { StreamStatus, type StreamTransport } from "./transport.js";
import { createResponseWire } from "./wire.js";
import type { ResourceWatcher } from "./watcher.js";

export interface XdsServerDeps {
  readonly watcher: ResourceWatcher;
  readonly codec: Codec;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** For timestamps, log rate limits and the forced-shutdown timer; the system clock by default. */
  readonly clock?: Clock;
  /** What one stream may ask of the server; XDS_LIMITS unless a test says otherwise. */
  readonly limits?: XdsLimits;
  /** Sees every ACK and NACK, with the tag of the response answered when it had one. */
  readonly onReply?: (reply: ClientReply) => void;
  /** Sees every new stream; may refuse it, end it later (the lab's stream-error fault) or write to it (the bench). */
  readonly streamGate?: StreamGate;
  /** Serve ADS over TLS with this certificate chain and key (PEM; `serve --tls`), no client certificate asked; plain text without. */
  readonly tls?: { readonly certificateChain: string; readonly privateKeyPem: string };
}

/** A new ADS stream as a StreamGate sees it. */
export interface GatedStream {
  readonly protocol: "sotw" | "delta";
  /** Writes `bytes`, an encoded response of `protocol`, unchanged, touching no stream state. */
  send(bytes: Uint8Array): void;
  /** Ends the stream with this gRPC status. */
  end(code: number, details: string): void;
}

/**
 * Intercepts new streams, around the server rather than inside it. Returns a
 * status to refuse the stream with, or a detach function the server calls
 * once the stream has closed.
 */
export interface StreamGate {
  attachStream(stream: GatedStream): { readonly refuse: { code: number; details: string } } | { readonly detach: () => void };
}

export interface XdsServer {
  /** Binds and starts serving; resolves to the real address (port 0 picks one). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Every open ADS stream. */
  clients(): ClientStatus[];
  /**
   * How many open streams have a response not yet ACKed (`behind`), how many
   * NACKed their last response of some type, and how many speak each
   * protocol; one pass, no status built.
   */
  clientCounts(): { behind: number; nacking: number; sotw: number; delta: number };
  /** Ends every stream with UNAVAILABLE (clients reconnect elsewhere or later), then stops. */
  close(): Promise<void>;
}

/** How long close() waits for calls to finish before it cuts them off. */
const FORCED_SHUTDOWN_MS = 2000;

/** Responses go out already encoded (wire.ts); the service definition's serializer passes bytes through. */
type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>;
type DeltaAdsCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, Uint8Array>;

/** What the server needs of a protocol stream, SotW or Delta. */
interface ProtocolStream<Req> {
  /** The node id clipped for log lines. */
  readonly logNodeId: string;
  onRequest(request: Req): void;
  close(): void;
  status(): ClientStatus;
  replyState(): { readonly behind: boolean; readonly nacking: boolean };
}

/** The xDS gRPC server: ADS State-of-the-World and Delta, sharing one stream table. */
export function createXdsServer(deps: XdsServerDeps): XdsServer {
  const clock = deps.clock ?? createSystemClock();
  const now = () => clock.now();
  // Channelz off: nothing here serves or reads grpc-js channelz, and its per-connection and per-call
  // trackers cost about 1 KB of heap per connected client (bench `memory`). No effect on the wire.
  const limits = deps.limits ?? XDS_LIMITS;
  // A larger request is refused by grpc-js itself: RESOURCE_EXHAUSTED, ending that stream only.
  const server = new grpc.Server({ "grpc.max_receive_message_length": limits.maxRequestBytes, "grpc.enable_channelz": 0 });
  const streams = new Map<string, { stream: ProtocolStream<never>; transport: StreamTransport; protocol: "sotw" | "delta" }>();
  const wire = createResponseWire(deps.codec, deps.metrics);
  let seq = 0;
  let closing: Promise<void> | undefined;

  function handle<Req>(protocol: "sotw" | "delta", call: grpc.ServerDuplexStream<Req, Uint8Array>, create: (id: string, transport: StreamTransport) => ProtocolStream<Req>): void {
    const id = `s${++seq}`;
    const transport = grpcTransport(call);
    const admission = deps.streamGate?.attachStream({
      protocol,
      send: (bytes) => transport.send(bytes),
      end(code, details) {
        deps.logger.info({ stream: id, code }, "ADS stream ended by an injected fault");
        transport.end(code, details);
        finish("injected fault");
      },
    });
    if (admission && "refuse" in admission) {
      deps.logger.info({ stream: id, peer: transport.peer, code: admission.refuse.code }, "ADS stream refused by an injected fault");
      transport.end(admission.refuse.code, admission.refuse.details);
      return;
    }
    const stream = create(id, transport);
    streams.set(id, { stream, transport, protocol });
    deps.metrics?.xdsClients.inc();
    deps.logger.info({ stream: id, peer: transport.peer }, "ADS stream opened");
    let finished = false;
    const finish = (why: string, err?: unknown) => {
      if (finished) return;
      finished = true;
      if (admission && "detach" in admission) admission.detach();
      stream.close();
      streams.delete(id);
      deps.metrics?.xdsClients.dec();
      deps.logger.info({ stream: id, node: stream.logNodeId, why, err: err instanceof Error ? err.message : undefined }, "ADS stream closed");
    };
    call.on("data", (request: Req) => {
      try {
        stream.onRequest(request);
      } catch (err) {
        // A bug in handling one request must not take the process down; end this stream only.
        deps.logger.error({ stream: id, err }, "internal error handling a discovery request");
        transport.end(StreamStatus.INTERNAL, "internal error in the control plane");
        finish("internal error", err);
      }
    });
    call.on("end", () => {
      finish("client half-closed");
      call.end();
    });
    call.on("cancelled", () => finish("cancelled"));
    call.on("error", (err) => finish("error", err));
    call.on("close", () => finish("closed"));
  }

  // One limiter for the server: a client's repeated warnings are limited across its streams (keyed by node id and kind).
  const warn = createLimitedLog(deps.logger, createLogRateLimiter({ now }), (kind) => deps.metrics?.logLinesSuppressed.inc({ kind }));
  const common = { watcher: deps.watcher, wire, logger: deps.logger, warn, now, limits, ...(deps.metrics && { metrics: deps.metrics }), ...(deps.onReply && { onReply: deps.onReply }) };
  server.addService(createAdsServiceDefinition(deps.codec), {
    StreamAggregatedResources: (call: AdsCall) => handle("sotw", call, (id, transport) => new SotwStream({ id, transport, ...common })),
    DeltaAggregatedResources: (call: DeltaAdsCall) => handle("delta", call, (id, transport) => new DeltaStream({ id, transport, ...common })),
  });

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const credentials = deps.tls
          ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(deps.tls.certificateChain), private_key: Buffer.from(deps.tls.privateKeyPem) }], false)
          : grpc.ServerCredentials.createInsecure();
        server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, credentials, (err, bound) => {
          if (err) reject(err);
          else resolve({ host, port: bound });
        });
      });
    },
    clients: () => [...streams.values()].map((s) => s.stream.status()),
    clientCounts() {
      let behind = 0;
      let nacking = 0;
      let sotw = 0;
      for (const { stream, protocol } of streams.values()) {
        const state = stream.replyState();
        if (state.behind) behind++;
        if (state.nacking) nacking++;
        if (protocol === "sotw") sotw++;
      }
      return { behind, nacking, sotw, delta: streams.size - sotw };
    },
    close() {
      closing ??= (async () => {
        for (const { stream, transport } of streams.values()) {
          stream.close();
          transport.end(StreamStatus.UNAVAILABLE, "control plane shutting down");
        }
        await new Promise<void>((resolve) => {
          const cancelForce = clock.setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, FORCED_SHUTDOWN_MS);
          server.tryShutdown(() => {
            cancelForce();
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}

/** The StreamTransport of one gRPC call, either protocol. */
function grpcTransport<Req>(call: grpc.ServerDuplexStream<Req, Uint8Array>): StreamTransport {
  let ended = false;
  return {
    peer: call.getPeer(),
    send(response) {
      if (!ended) call.write(response);
    },
    end(code, details) {
      if (ended) return;
      ended = true;
      call.emit("error", { code, details, metadata: new grpc.Metadata() });
    },
  };
}
