/**
 * The one place protobuf bytes are made and read. Everything else sees the
 * typed plain objects of types.ts.
 *
 * Encoding contract:
 * - The object must fit its message type exactly: unknown fields, wrongly
 *   typed values, unknown enum names and two members of one oneof all throw
 *   MessageShapeError listing every problem with its path.
 * - Equal content gives equal bytes: map and Struct keys are sorted, and
 *   fields holding their proto3 default are omitted (see canonical.ts).
 *
 * Decoding contract (all decoders):
 * - Returns plain objects in the shapes of types.ts: strings, numbers, bools,
 *   repeated and map fields are always present (defaults filled in); unset
 *   sub-messages and oneof members are absent (never null).
 * - int64 → number (exact below 2^53; none of our fields come near).
 * - enums → their names; a number the protos do not name stays a number.
 * - bytes → Buffer views into the input (no copy): do not reuse the input
 *   buffer while the result is in use.
 * - google.protobuf.Struct → plain JSON.
 * - Bytes that are not a valid encoding throw ProtoDecodeError; a decoder
 *   never throws anything else.
 */
import protobuf from "protobufjs";
import type { Issue } from "../errors/index.js";
import { canonicalMessage } from "./canonical.js";
import { MessageShapeError, ProtoDecodeError, ProtoLoadError } from "./errors.js";
import { loadXdsRoot } from "./loader.js";
import { createPlainFinisher, type PlainFinisher } from "./plain.js";
import {
  DOWNSTREAM_TLS_CONTEXT_TYPE_NAME,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  RBAC_TYPE_NAME,
  HTTP_FAULT_TYPE_NAME,
  CLUSTER_CONFIG_TYPE_NAME,
  RESOURCE_TYPES,
  ROUTER_TYPE_NAME,
  UPSTREAM_TLS_CONTEXT_TYPE_NAME,
  TYPE_URL_PREFIX,
  typeUrlOf,
  type ResourceTypeUrl,
} from "./type-urls.js";
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from "./discovery-types.js";
import type {
  Any,
  LbEndpoint,
  Locality,
  PackableMessage,
  PackableTypeName,
  ResourceMessage,
} from "./types.js";

/**
 * Encoder/decoder for the xDS messages steadymesh uses. Methods do not use
 * `this`: a Codec can be destructured, spread or wrapped (e.g. to count calls).
 */
export interface Codec {
  /** The serialized resource: the `value` of the Any sent with type URL `typeUrl`. */
  encodeResource<T extends ResourceTypeUrl>(typeUrl: T, message: ResourceMessage[T]): Uint8Array;
  decodeResource<T extends ResourceTypeUrl>(typeUrl: T, bytes: Uint8Array): ResourceMessage[T];
  /** Encodes a message nested inside a resource as an Any (checked like encodeResource). */
  packAny<N extends PackableTypeName>(typeName: N, message: PackableMessage[N]): Any;
  /** Decodes a nested Any; throws ProtoDecodeError when it holds another type. */
  unpackAny<N extends PackableTypeName>(typeName: N, any: Any): PackableMessage[N];
  /** One LbEndpoint of a ClusterLoadAssignment on its own, checked and canonical like encodeResource: a part for assembleLoadAssignment. */
  encodeLbEndpoint(message: LbEndpoint): Uint8Array;
  /**
   * Byte for byte what encodeResource(ENDPOINT_TYPE, …) gives for
   * `{ cluster_name, endpoints: [{ locality, lb_endpoints, load_balancing_weight: { value: weight } }, …] }`,
   * with each lb_endpoint given as encodeLbEndpoint's bytes: a large
   * assignment whose one endpoint changed is assembled from the parts
   * encoded before, not encoded whole again. Fields are written in field
   * number order, as protobufjs's encoder writes them.
   */
  assembleLoadAssignment(clusterName: string, localities: readonly LoadAssignmentPart[]): Uint8Array;
  encodeDiscoveryRequest(message: DiscoveryRequest): Uint8Array;
  decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest;
  encodeDiscoveryResponse(message: DiscoveryResponse): Uint8Array;
  decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponse;
  /**
   * A DiscoveryResponse's header, every field but `resources`, encoded on the
   * fast path: no shape check or canonical form (the fields are plain strings
   * the server made). xds/wire.ts appends the shared resource entries to it.
   */
  encodeDiscoveryResponseHeader(header: ResponseHeader): Uint8Array;
  /** The same for a DeltaDiscoveryResponse. */
  encodeDeltaDiscoveryResponseHeader(header: DeltaResponseHeader): Uint8Array;
  encodeDeltaDiscoveryRequest(message: DeltaDiscoveryRequest): Uint8Array;
  decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest;
  encodeDeltaDiscoveryResponse(message: DeltaDiscoveryResponse): Uint8Array;
  decodeDeltaDiscoveryResponse(bytes: Uint8Array): DeltaDiscoveryResponse;
}

/** One locality of assembleLoadAssignment: its Locality, its weight, and its endpoints as encodeLbEndpoint made them. */
export interface LoadAssignmentPart {
  readonly locality: Locality;
  readonly weight: number;
  readonly endpoints: readonly Uint8Array[];
}

/** What encodeDiscoveryResponseHeader writes. */
export interface ResponseHeader {
  readonly version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly control_plane: { readonly identifier: string };
}

/** What encodeDeltaDiscoveryResponseHeader writes. */
export interface DeltaResponseHeader {
  readonly system_version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly removed_resources: readonly string[];
  readonly control_plane: { readonly identifier: string };
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: false,
};

/**
 * Parses the envoy protos (synchronously, ~70–160 ms; see loader.ts) and returns
 * a Codec over them. Each call parses again: create one per process and pass
 * it to whoever needs it.
 */
export function loadCodec(): Codec {
  const root = loadXdsRoot();
  assertBundledStruct(root);
  const resourceTypes = new Map<string, protobuf.Type>(
    RESOURCE_TYPES.map((url) => [url, lookup(root, url.slice(TYPE_URL_PREFIX.length))]),
  );
  const packableTypes = new Map<string, protobuf.Type>(
    [HTTP_CONNECTION_MANAGER_TYPE_NAME, ROUTER_TYPE_NAME, RBAC_TYPE_NAME, HTTP_FAULT_TYPE_NAME, DOWNSTREAM_TLS_CONTEXT_TYPE_NAME, UPSTREAM_TLS_CONTEXT_TYPE_NAME, CLUSTER_CONFIG_TYPE_NAME].map((name) => [
      name,
      lookup(root, name),
    ]),
  );
  const discovery = (name: string) => lookup(root, `envoy.service.discovery.v3.${name}`);
  const request = discovery("DiscoveryRequest");
  const response = discovery("DiscoveryResponse");
  const deltaRequest = discovery("DeltaDiscoveryRequest");
  const deltaResponse = discovery("DeltaDiscoveryResponse");
  const finish = createPlainFinisher();
  const decode = <T>(type: protobuf.Type, bytes: Uint8Array): T => decodeWith(type, bytes, finish);
  const lbEndpoint = lookup(root, "envoy.config.endpoint.v3.LbEndpoint");
  const assemble = loadAssignmentAssembler(root, typeFor(resourceTypes, ENDPOINT_TYPE, "encode"));

  return {
    encodeResource: (typeUrl, message) => encode(typeFor(resourceTypes, typeUrl, "encode"), message),
    decodeResource: (typeUrl, bytes) => decode(typeFor(resourceTypes, typeUrl, "decode"), bytes),
    packAny: (typeName, message) => ({
      type_url: typeUrlOf(typeName),
      value: encode(typeFor(packableTypes, typeName, "encode"), message),
    }),
    unpackAny: (typeName, any) => {
      const type = typeFor(packableTypes, typeName, "decode");
      if (any.type_url !== typeUrlOf(typeName)) {
        throw new ProtoDecodeError(typeName, `the Any holds ${JSON.stringify(any.type_url)}`);
      }
      return decode(type, any.value);
    },
    encodeLbEndpoint: (message) => encode(lbEndpoint, message),
    assembleLoadAssignment: assemble,
    encodeDiscoveryRequest: (message) => encode(request, message),
    decodeDiscoveryRequest: (bytes) => decode(request, bytes),
    encodeDiscoveryResponse: (message) => encode(response, message),
    decodeDiscoveryResponse: (bytes) => decode(response, bytes),
    // protobufjs's generated encoder takes plain objects with the message's field names.
    encodeDiscoveryResponseHeader: (header) => response.encode(header as unknown as protobuf.Message).finish(),
    encodeDeltaDiscoveryResponseHeader: (header) => deltaResponse.encode(header as unknown as protobuf.Message).finish(),
    encodeDeltaDiscoveryRequest: (message) => encode(deltaRequest, message),
    decodeDeltaDiscoveryRequest: (bytes) => decode(deltaRequest, bytes),
    encodeDeltaDiscoveryResponse: (message) => encode(deltaResponse, message),
    decodeDeltaDiscoveryResponse: (bytes) => decode(deltaResponse, bytes),
  };
}

/** struct.ts relies on protobufjs's bundled, camelCase google.protobuf.Value; fail loudly if that changes. */
function assertBundledStruct(root: protobuf.Root): void {
  if (!lookup(root, "google.protobuf.Value").fields["numberValue"]) {
    throw new ProtoLoadError("google.protobuf.Value has no numberValue field; protobufjs changed its bundled struct.proto");
  }
}

function lookup(root: protobuf.Root, name: string): protobuf.Type {
  try {
    return root.lookupType(name);
  } catch (cause) {
    throw new ProtoLoadError(`the loaded protos lack message ${name}`, { cause });
  }
}

/**
 * Guards callers that bypass the types (plain JS, `as` casts). The error
 * matches the direction: MessageShapeError when encoding, ProtoDecodeError when decoding.
 */
function typeFor(types: ReadonlyMap<string, protobuf.Type>, key: string, direction: "encode" | "decode"): protobuf.Type {
  const type = types.get(key);
  if (type) return type;
  const message = `unknown type; expected one of ${[...types.keys()].join(", ")}`;
  throw direction === "encode" ? new MessageShapeError(String(key), [{ path: "", message }]) : new ProtoDecodeError(String(key), message);
}

/** Length-delimited wire type: the tag of a sub-message or string field is (field number << 3) | 2. */
const LENGTH_DELIMITED = 2;

function tagOf(type: protobuf.Type, field: string): number {
  const found = type.fields[field];
  if (!found) throw new ProtoLoadError(`${nameOf(type)} has no field ${field}`);
  return (found.id << 3) | LENGTH_DELIMITED;
}

/** assembleLoadAssignment over the loaded protos: field numbers come from them, and fields go in field number order. */
function loadAssignmentAssembler(root: protobuf.Root, cla: protobuf.Type): Codec["assembleLoadAssignment"] {
  const lle = lookup(root, "envoy.config.endpoint.v3.LocalityLbEndpoints");
  const locality = lookup(root, "envoy.config.core.v3.Locality");
  const weight = lookup(root, "google.protobuf.UInt32Value");
  const nameTag = tagOf(cla, "cluster_name");
  const endpointsTag = tagOf(cla, "endpoints");
  if (cla.fields["cluster_name"]!.id > cla.fields["endpoints"]!.id) throw new ProtoLoadError("ClusterLoadAssignment.cluster_name no longer comes before endpoints");
  type Writes = (writer: protobuf.Writer, part: LoadAssignmentPart) => void;
  const parts: [number, Writes][] = [
    [lle.fields["locality"]?.id ?? 0, (w, part) => void w.uint32(tagOf(lle, "locality")).bytes(encode(locality, part.locality))],
    [lle.fields["lb_endpoints"]?.id ?? 0, (w, part) => {
      const tag = tagOf(lle, "lb_endpoints");
      for (const endpoint of part.endpoints) w.uint32(tag).bytes(endpoint);
    }],
    [lle.fields["load_balancing_weight"]?.id ?? 0, (w, part) => void w.uint32(tagOf(lle, "load_balancing_weight")).bytes(encode(weight, { value: part.weight }))],
  ];
  parts.sort(([a], [b]) => a - b);
  return (clusterName, localities) => {
    const writer = protobuf.Writer.create();
    // Canonical form leaves out a string holding its default.
    if (clusterName !== "") writer.uint32(nameTag).string(clusterName);
    for (const part of localities) {
      writer.uint32(endpointsTag).fork();
      for (const [, write] of parts) write(writer, part);
      writer.ldelim();
    }
    return writer.finish();
  };
}

function encode(type: protobuf.Type, message: unknown): Uint8Array {
  const issues: Issue[] = [];
  const canonical = canonicalMessage(type, message, "", issues);
  if (issues.length > 0) throw new MessageShapeError(nameOf(type), issues);
  try {
    return type.encode(type.fromObject(canonical)).finish();
  } catch (cause) {
    // canonicalMessage admits only what fromObject accepts; reaching here is a bug in it.
    throw new MessageShapeError(nameOf(type), [{ path: "", message: `protobufjs refused the message: ${String(cause)}` }], { cause });
  }
}

// The return type is the caller's promise (types.ts); it holds because the
// message type and TO_OBJECT + the plain finisher decide the shape.
function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, finish: PlainFinisher): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtoDecodeError(nameOf(type), `expected bytes (Uint8Array), got ${typeof bytes}`);
  }
  try {
    // A Buffer would get protobufjs's BufferReader, which silently truncates
    // a string that runs past the end; the plain Uint8Array reader throws.
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const object = type.toObject(type.decode(new protobuf.Reader(view)), TO_OBJECT);
    finish(type, object);
    return object as T;
  } catch (cause) {
    throw new ProtoDecodeError(nameOf(type), cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function nameOf(type: protobuf.Type): string {
  return type.fullName.slice(1);
}
