import type { ServiceDefinition } from "@grpc/grpc-js";
import type { Codec } from "./codec.js";
import type { DeltaDiscoveryRequest, DiscoveryRequest } from "./discovery-types.js";

export const ADS_SERVICE_NAME = "envoy.service.discovery.v3.AggregatedDiscoveryService";

/**
 * The ADS gRPC service, shared by the xDS server and every client (the
 * `steady:` resolver, the test and bench clients), with (de)serialization done by our codec so the
 * server works on typed objects and pre-encoded resources. Responses are
 * written already encoded (the server's streams make them with wire.ts);
 * clients decode them into typed objects. Methods the server
 * does not register answer UNIMPLEMENTED (grpc-js does that).
 */
export function createAdsServiceDefinition(codec: Codec): ServiceDefinition {
  return {
    StreamAggregatedResources: {
      path: `/${ADS_SERVICE_NAME}/StreamAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: DiscoveryRequest) => codec.encodeDiscoveryRequest(value) as Buffer,
      requestDeserialize: (bytes: Buffer) => codec.decodeDiscoveryRequest(bytes),
      responseSerialize: asBuffer,
      responseDeserialize: (bytes: Buffer) => codec.decodeDiscoveryResponse(bytes),
    },
    DeltaAggregatedResources: {
      path: `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: DeltaDiscoveryRequest) => codec.encodeDeltaDiscoveryRequest(value) as Buffer,
      requestDeserialize: (bytes: Buffer) => codec.decodeDeltaDiscoveryRequest(bytes),
      responseSerialize: asBuffer,
      responseDeserialize: (bytes: Buffer) => codec.decodeDeltaDiscoveryResponse(bytes),
    },
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
