import * as grpc from "@grpc/grpc-js";
import { createAdsServiceDefinition, type Codec, type DiscoveryRequest, type DiscoveryResponse } from "../proto/index.js";
import type { ClientLogger } from "./logger.js";

/** One open ADS stream, as the xDS client sees it. */
export interface AdsStream {
  write(request: DiscoveryRequest): void;
  /** Ends the stream from this side. Its handlers may still be called once after; the client ignores a stream it has left. */
  cancel(): void;
}

export interface AdsStreamHandlers {
  onResponse(response: DiscoveryResponse): void;
  /** The stream ended; `reason` reads like `UNAVAILABLE: No connection established`. */
  onEnd(reason: string): void;
}

/**
 * How the xDS client reaches its servers: the State-of-the-World protocol
 * runs on this interface, so unit tests drive it with a fake. Handlers are
 * never called before `open` returns.
 */
export interface AdsTransport {
  open(server: string, handlers: AdsStreamHandlers): AdsStream;
  /** Closes every channel this transport opened. */
  close(): void;
}

type AdsCall = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** PEM material for a TLS channel: the CA that verifies the server and, optionally, this client's certificate and key. */
export interface AdsTls {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** ADS over @grpc/grpc-js, one channel per server, kept for reconnects: TLS with `tls`, plain text without. */
export function createGrpcAdsTransport(codec: Codec, logger: ClientLogger, tls?: AdsTls): AdsTransport {
  const AdsClient = grpc.makeGenericClientConstructor(createAdsServiceDefinition(codec), "AggregatedDiscoveryService");
  const channels = new Map<string, grpc.Client>();
  return {
    open(server, handlers) {
      let channel = channels.get(server);
      if (!channel) {
        const credentials = tls ? grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : grpc.credentials.createInsecure();
        channel = new AdsClient(server, credentials);
        channels.set(server, channel);
      }
      const call = (channel as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources();
      call.on("data", (response: DiscoveryResponse) => handlers.onResponse(response));
      call.on("status", (status: grpc.StatusObject) => handlers.onEnd(`${grpc.status[status.code]}: ${status.details}`));
      // The same failure arrives as a status, which ends the stream; the error event only adds noise.
      call.on("error", (err: Error) => logger.debug({ server, err: err.message }, "ADS stream error"));
      return { write: (request) => call.write(request), cancel: () => call.cancel() };
    },
    close() {
      for (const channel of channels.values()) channel.close();
    },
  };
}
