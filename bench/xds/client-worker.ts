/**
 * A process of lightweight raw ADS clients for the bench. Each stream has its
 * own grpc-js channel (`grpc.use_local_subchannel_pool`), so each is its own
 * HTTP/2 connection like a real client. Responses are not decoded: the worker
 * reads only the nonce (and SotW's version_info) out of the raw bytes to ACK
 * every response, which keeps the clients' CPU low on a 2-core machine shared
 * with the server.
 *
 * Commands from the parent (ipc.ts):
 * - open {streams}  → opens them; resolves when each got its first response;
 * - arm             → each stream records the arrival time of its next response;
 * - wait {timeoutMs}→ resolves when every armed stream got it (or at timeout)
 *                     with arrival times (wall ms, NaN = none) and sizes;
 * - sample {index}  → the raw bytes of that stream's last response;
 * - close           → cancels every stream and exits.
 */
import * as grpc from "@grpc/grpc-js";
import { loadCodec } from "../../src/proto/index.js";
import { createAdsServiceDefinition } from "../../src/proto/ads-service.js";
import { serveParent, tellParent, wallNow } from "./ipc.js";

export interface StreamSpec {
  readonly port: number;
  readonly protocol: "sotw" | "delta";
  readonly typeUrl: string;
  /** Names to subscribe to; empty means a wildcard subscription. */
  readonly names: readonly string[];
  readonly nodeId: string;
}

export interface WaitResult {
  readonly arrivals: number[];
  readonly sizes: number[];
}

/** The string fields 1 and 5 of a (Delta)DiscoveryResponse: version_info / system_version_info and nonce. */
export function scanVersionAndNonce(buf: Uint8Array): { version: string; nonce: string } {
  let pos = 0;
  let version = "";
  let nonce = "";
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if (field === 1) version = Buffer.from(buf.buffer, buf.byteOffset + pos, len).toString("utf8");
      else if (field === 5) nonce = Buffer.from(buf.buffer, buf.byteOffset + pos, len).toString("utf8");
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return { version, nonce };
}

interface OpenStream {
  readonly spec: StreamSpec;
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  responses: number;
  armed: boolean;
  arrival: number;
  size: number;
  last?: Buffer;
  error?: string;
}

async function main(): Promise<void> {
  const codec = loadCodec();
  const base = createAdsServiceDefinition(codec);
  const pass = (b: Buffer) => b;
  const definition: grpc.ServiceDefinition = {
    StreamAggregatedResources: { ...base.StreamAggregatedResources!, requestSerialize: pass, responseDeserialize: pass },
    DeltaAggregatedResources: { ...base.DeltaAggregatedResources!, requestSerialize: pass, responseDeserialize: pass },
  };
  const Client = grpc.makeGenericClientConstructor(definition, "AggregatedDiscoveryService");
  const streams: OpenStream[] = [];
  let onProgress: (() => void) | undefined;

  function request(spec: StreamSpec, first: boolean, version: string, nonce: string): Buffer {
    const node = first ? { node: { id: spec.nodeId, cluster: "bench", user_agent_name: "steadymesh-bench" } } : {};
    const bytes =
      spec.protocol === "delta"
        ? codec.encodeDeltaDiscoveryRequest({
            ...node,
            type_url: spec.typeUrl,
            resource_names_subscribe: first ? [...spec.names] : [],
            resource_names_unsubscribe: [],
            resource_locators_subscribe: [],
            resource_locators_unsubscribe: [],
            initial_resource_versions: {},
            response_nonce: nonce,
          } as never)
        : codec.encodeDiscoveryRequest({ ...node, version_info: version, resource_names: [...spec.names], type_url: spec.typeUrl, response_nonce: nonce } as never);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  const acks: Array<() => void> = [];
  function flushAcks(): void {
    for (const send of acks.splice(0)) send();
  }
  /** Delta ACKs are equal for equal nonces (nonces are per-stream counters), so each is encoded once. */
  const deltaAcks = new Map<string, Buffer>();
  function ack(spec: StreamSpec, version: string, nonce: string): Buffer {
    if (spec.protocol !== "delta") return request(spec, false, version, nonce);
    const key = `${spec.typeUrl} ${nonce}`;
    let bytes = deltaAcks.get(key);
    if (!bytes) deltaAcks.set(key, (bytes = request(spec, false, version, nonce)));
    return bytes;
  }
  let arrived = 0;
  let armedCount = 0;

  function open(spec: StreamSpec): OpenStream {
    const client = new Client(`127.0.0.1:${spec.port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
    });
    const method = spec.protocol === "delta" ? "DeltaAggregatedResources" : "StreamAggregatedResources";
    const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>)[method]!.call(client);
    const s: OpenStream = { spec, client, call, responses: 0, armed: false, arrival: Number.NaN, size: 0 };
    call.on("data", (buf: Buffer) => {
      const t = wallNow();
      s.responses++;
      s.last = buf;
      const first = s.armed && Number.isNaN(s.arrival);
      if (first) {
        s.arrival = t;
        s.size = buf.length;
      }
      if (first) arrived++;
      // ACK after this turn's other arrivals are timestamped (setImmediate runs after the poll phase's socket reads).
      acks.push(() => {
        const { version, nonce } = scanVersionAndNonce(buf);
        call.write(ack(spec, version, nonce));
      });
      if (acks.length === 1) setImmediate(flushAcks);
      onProgress?.();
    });
    call.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) s.error = err.message;
      if (s.armed && Number.isNaN(s.arrival)) arrived++; // a failed stream will not get the update: stop waiting for it
      onProgress?.();
    });
    call.write(request(spec, true, "", ""));
    return s;
  }

  function until(done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        onProgress = undefined;
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      onProgress = () => {
        if (done()) finish();
      };
      onProgress();
    });
  }

  serveParent(async (cmd, args) => {
    switch (cmd) {
      case "open": {
        const { streams: specs, timeoutMs } = args as { streams: StreamSpec[]; timeoutMs: number };
        // Open in slices so the server sees a steady ramp rather than one burst of thousands of handshakes.
        for (let i = 0; i < specs.length; i += 50) {
          for (const spec of specs.slice(i, i + 50)) streams.push(open(spec));
          await new Promise((r) => setTimeout(r, 5));
        }
        await until(() => streams.every((s) => s.responses > 0 || s.error), timeoutMs);
        const synced = streams.filter((s) => s.responses > 0).length;
        const errors = streams.filter((s) => s.error).map((s) => s.error);
        return { synced, errors: errors.slice(0, 5), errorCount: errors.length, initialBytes: streams.reduce((n, s) => n + (s.last?.length ?? 0), 0) };
      }
      case "arm":
        arrived = 0;
        armedCount = streams.filter((s) => !s.error).length;
        for (const s of streams) {
          s.armed = true;
          s.arrival = Number.NaN;
          s.size = 0;
        }
        return true;
      case "wait": {
        const { timeoutMs } = args as { timeoutMs: number };
        await until(() => arrived >= armedCount, timeoutMs);
        for (const s of streams) s.armed = false;
        return { arrivals: streams.map((s) => s.arrival), sizes: streams.map((s) => s.size) } satisfies WaitResult;
      }
      case "sample":
        return streams[(args as { index: number }).index]?.last ?? null;
      case "close":
        for (const s of streams) {
          s.call.cancel();
          s.client.close();
        }
        setImmediate(() => process.exit(0));
        return true;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  });
  tellParent({ ready: true, pid: process.pid });
}

await main();
