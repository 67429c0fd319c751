/**
 * The one place xDS resource bytes, and the Anys inside them, are decoded
 * for reading. Each (codec, bytes) pair is decoded once: the builder's
 * consistency check, the push guard and the resolver all get the same
 * message back, and it lives as long as the bytes do (a WeakMap per codec).
 */
import { isDeepStrictEqual } from "node:util";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  ROUTE_TYPE,
  type Any,
  type Codec,
  type PackableMessage,
  type PackableTypeName,
  type ResourceMessage,
  type ResourceTypeUrl,
} from "../proto/index.js";

/**
 * One resource, decoded: its type, the name its message carries, the bytes
 * and the typed message. The message is shared by every caller that decodes
 * the same bytes: read it, never change it.
 */
export interface Decoded<T extends ResourceTypeUrl = ResourceTypeUrl> {
  readonly typeUrl: T;
  /** Listener, RouteConfiguration and Cluster `name`; ClusterLoadAssignment `cluster_name`. */
  readonly name: string;
  /** The serialized resource (an Any's `value`) the message was decoded from. */
  readonly body: Uint8Array;
  readonly message: ResourceMessage[T];
}

/** A Decoded of any of the four types, narrowed by a switch on `typeUrl`. */
export type AnyDecoded = { [T in ResourceTypeUrl]: Decoded<T> }[ResourceTypeUrl];

/** Per codec, per input bytes: what each kind of decode made of them. */
const decodedByCodec = new WeakMap<Codec, WeakMap<Uint8Array, Map<string, unknown>>>();

function remember<T>(codec: Codec, bytes: Uint8Array, kind: string, decode: () => T): T {
  // Not bytes at all: the codec reports that (a WeakMap would throw a TypeError instead).
  if (!(bytes instanceof Uint8Array)) return decode();
  let byBytes = decodedByCodec.get(codec);
  if (!byBytes) decodedByCodec.set(codec, (byBytes = new WeakMap()));
  let byKind = byBytes.get(bytes);
  if (!byKind) byBytes.set(bytes, (byKind = new Map()));
  if (byKind.has(kind)) return byKind.get(kind) as T;
  const decoded = decode();
  byKind.set(kind, decoded);
  return decoded;
}

/**
 * `body` decoded as a resource of type `typeUrl`; the same object for the
 * same codec and bytes. Throws what the codec throws (ProtoDecodeError) and
 * remembers only successes.
 */
export function decodeResource<T extends ResourceTypeUrl>(codec: Codec, typeUrl: T, body: Uint8Array): Decoded<T> {
  return remember(codec, body, typeUrl, () => {
    const message = codec.decodeResource(typeUrl, body);
    return Object.freeze({ typeUrl, name: nameOf(typeUrl, message), body, message });
  });
}

/**
 * The message inside `any`, decoded once per codec and bytes. Throws
 * ProtoDecodeError when `any` holds another type or does not decode.
 */
export function unpackAny<N extends PackableTypeName>(codec: Codec, typeName: N, any: Any): PackableMessage[N] {
  return remember(codec, any.value, `${typeName} ${any.type_url}`, () => codec.unpackAny(typeName, any));
}

/**
 * Whether two resources of one type carry the same configuration: equal
 * bytes, or messages equal field by field (bytes from other encoders may
 * order fields differently).
 */
export function equalDecoded<T extends ResourceTypeUrl>(a: Decoded<T>, b: Decoded<T>): boolean {
  if (a.typeUrl !== b.typeUrl) return false;
  if (a.body === b.body || Buffer.compare(a.body, b.body) === 0) return true;
  return isDeepStrictEqual(a.message, b.message);
}

function nameOf<T extends ResourceTypeUrl>(typeUrl: T, message: ResourceMessage[T]): string {
  switch (typeUrl) {
    case ENDPOINT_TYPE:
      return (message as ResourceMessage[typeof ENDPOINT_TYPE]).cluster_name;
    case LISTENER_TYPE:
    case ROUTE_TYPE:
    case CLUSTER_TYPE:
    default:
      return (message as { name: string }).name;
  }
}
