import * as grpc from "@grpc/grpc-js";
import type { Codec, DiscoveryRequest, DiscoveryResponse } from "../../src/proto/index.js";
import { createAdsServiceDefinition } from "../../src/proto/ads-service.js";

/**
 * A raw ADS stream for protocol tests. Every response is checked on arrival:
 * its nonce was never seen before on this stream and is greater than the last
 * (nonces are decimal counters), and every resource's type URL equals the
 * response's type URL. A violation fails the next `next()`.
 */
export interface RawAdsStream {
  send(request: Partial<DiscoveryRequest>): void;
  /** The next response, or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<DiscoveryResponse>;
  /** Responses received but not yet taken with next(). */
  buffered(): number;
  /** Resolves with the stream's final status. */
  status(): Promise<grpc.StatusObject>;
  close(): void;
}

export function openRawAds(port: number, codec: Codec): RawAdsStream {
  const Client = grpc.makeGenericClientConstructor(createAdsServiceDefinition(codec), "AggregatedDiscoveryService");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> }).StreamAggregatedResources();
  const queue: DiscoveryResponse[] = [];
  const waiters: Array<(r: DiscoveryResponse) => void> = [];
  const seen = new Set<string>();
  let lastNonce = 0;
  let violation: string | undefined;
  const statusPromise = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {
    /* the final status is observed through status(); errors are expected in some tests */
  });
  call.on("data", (response: DiscoveryResponse) => {
    const n = Number(response.nonce);
    if (!response.nonce || seen.has(response.nonce) || !(n > lastNonce)) violation ??= `nonce ${JSON.stringify(response.nonce)} is not fresh (last ${lastNonce})`;
    seen.add(response.nonce);
    lastNonce = n;
    for (const r of response.resources) {
      if (r.type_url !== response.type_url) violation ??= `resource type ${r.type_url} in a ${response.type_url} response`;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });

  return {
    send(request) {
      call.write({ version_info: "", resource_names: [], type_url: "", response_nonce: "", ...request } as DiscoveryRequest);
    },
    next(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (r: DiscoveryResponse) => (violation ? reject(new Error(`protocol invariant broken: ${violation}`)) : resolve(r));
        const queued = queue.shift();
        if (queued) return check(queued);
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no DiscoveryResponse within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (r: DiscoveryResponse) => {
          clearTimeout(timer);
          check(r);
        };
        waiters.push(waiter);
      });
    },
    buffered: () => queue.length,
    status: () => statusPromise,
    close() {
      call.cancel();
      client.close();
    },
  };
}
