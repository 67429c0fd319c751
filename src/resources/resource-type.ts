import type { Codec, ResourceTypeUrl } from "../proto/index.js";
import type { Decoded } from "./decode.js";
import type { Findings } from "./fields.js";

/** A name one resource uses to point at another. */
export interface Reference {
  /** Path of the referring field inside the resource, e.g. `eds_cluster_config.service_name`. */
  readonly path: string;
  readonly type: ResourceTypeUrl;
  readonly name: string;
}

/**
 * What steadymesh knows about one xDS resource type, as grpc-js-xds's
 * XdsResourceType classes do: decode, validate, equal, and the names the
 * resource refers to.
 */
export interface ResourceType<T extends ResourceTypeUrl> {
  readonly typeUrl: T;
  /** `body` decoded, once per codec and bytes (see decode.ts). Throws ProtoDecodeError. */
  decode(codec: Codec, body: Uint8Array): Decoded<T>;
  /**
   * Reports to `findings` every problem for which a stock gRPC client
   * (@grpc/grpc-js-xds) or Envoy would NACK the resource, each at its field
   * path. Nested Anys that do not decode are reported, not thrown.
   */
  validate(codec: Codec, decoded: Decoded<T>, findings: Findings): void;
  /** Whether `a` and `b` carry the same configuration (equal bytes or equal messages). */
  equal(a: Decoded<T>, b: Decoded<T>): boolean;
  /** The resources this one names, which a client then asks for. Throws ProtoDecodeError for a nested Any that does not decode. */
  references(codec: Codec, decoded: Decoded<T>): Reference[];
}
