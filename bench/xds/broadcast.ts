import type { GatedStream, StreamGate } from "../../src/xds/index.js";

/**
 * The propagation bench's lower bound, "the same bytes N times on the same
 * sockets": a stream gate for the bench's server that keeps every open
 * Delta stream, and writes encoded bytes to all of them, unchanged and
 * touching no stream state.
 */
export interface DeltaBroadcast extends StreamGate {
  /** Writes `bytes`, an encoded DeltaDiscoveryResponse, to every open Delta stream; returns how many. */
  broadcastEncoded(bytes: Uint8Array): number;
}

export function createDeltaBroadcast(): DeltaBroadcast {
  const streams = new Set<GatedStream>();
  return {
    attachStream(stream) {
      if (stream.protocol !== "delta") return { detach: () => undefined };
      streams.add(stream);
      return { detach: () => void streams.delete(stream) };
    },
    broadcastEncoded(bytes) {
      for (const stream of streams) stream.send(bytes);
      return streams.size;
    },
  };
}
