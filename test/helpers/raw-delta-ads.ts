import * as grpc from "@grpc/grpc-js";
import type { Codec, DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../../src/proto/index.js";
import { createAdsServiceDefinition } from "../../src/proto/ads-service.js";

/**
 * A raw Delta ADS stream for protocol tests. Every response is checked on
 * arrival: its nonce was never seen before on this stream and is greater than
 * the last (nonces are decimal counters), every resource's Any type URL equals
 * the response's type URL, every resource has a name and a version, and the
 * response is not empty (no resources and no removals). A violation fails the
 * next `next()`.
 */
export interface RawDeltaAdsStream {
  send(request: Partial<DeltaDiscoveryRequest>): void;
  /** The next response, or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<DeltaDiscoveryResponse>;
  /** Responses received but not yet taken with next(). */
  buffered(): number;
  /** Resolves with the stream's final status. */
  status(): Promise<grpc.StatusObject>;
  close(): void;
}

export function openRawDeltaAds(port: number, codec: Codec): RawDeltaAdsStream {
  const Client = grpc.makeGenericClientConstructor(createAdsServiceDefinition(codec), "AggregatedDiscoveryService");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (client as unknown as { DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> }).DeltaAggregatedResources();
  const queue: DeltaDiscoveryResponse[] = [];
  const waiters: Array<(r: DeltaDiscoveryResponse) => void> = [];
  const seen = new Set<string>();
  let lastNonce = 0;
  let violation: string | undefined;
  const statusPromise = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", (err: grpc.ServiceError) => {
    // Cancelled by close() is the normal end; anything else breaks the test's next().
    if (err.code !== grpc.status.CANCELLED) violation ??= `stream failed: ${err.message}`;
  });
  call.on("data", (response: DeltaDiscoveryResponse) => {
    const n = Number(response.nonce);
    if (!response.nonce || seen.has(response.nonce) || !(n > lastNonce)) violation ??= `nonce ${JSON.stringify(response.nonce)} is not fresh (last ${lastNonce})`;
    seen.add(response.nonce);
    lastNonce = n;
    if (response.resources.length === 0 && response.removed_resources.length === 0) violation ??= `empty response (nonce ${response.nonce})`;
    for (const r of response.resources) {
      if (r.resource?.type_url !== response.type_url) violation ??= `resource type ${r.resource?.type_url} in a ${response.type_url} response`;
      if (!r.name || !r.version) violation ??= `resource without a name or version in nonce ${response.nonce}`;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(response);
    else queue.push(response);
  });

  return {
    send(request) {
      call.write({
        type_url: "",
        resource_names_subscribe: [],
        resource_names_unsubscribe: [],
        resource_locators_subscribe: [],
        resource_locators_unsubscribe: [],
        initial_resource_versions: {},
        response_nonce: "",
        ...request,
      } as DeltaDiscoveryRequest);
    },
    next(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (r: DeltaDiscoveryResponse) => (violation ? reject(new Error(`protocol invariant broken: ${violation}`)) : resolve(r));
        const queued = queue.shift();
        if (queued) return check(queued);
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no DeltaDiscoveryResponse within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (r: DeltaDiscoveryResponse) => {
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
