import type { Issue } from "../errors/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { clusterResource } from "./cluster.js";
import type { AnyDecoded, Decoded } from "./decode.js";
import { endpointResource } from "./endpoint.js";
import { collectFindings, type Findings } from "./fields.js";
import { listenerResource } from "./listener.js";
import type { Reference, ResourceType } from "./resource-type.js";
import { routeResource } from "./route.js";

/** The module of each resource type, by type URL. */
export const RESOURCE_KINDS: { readonly [T in ResourceTypeUrl]: ResourceType<T> } = Object.freeze({
  [LISTENER_TYPE]: listenerResource,
  [ROUTE_TYPE]: routeResource,
  [CLUSTER_TYPE]: clusterResource,
  [ENDPOINT_TYPE]: endpointResource,
});

/** The verdict on one resource's bytes: its decoded message, or every problem found. */
export type Checked<T extends ResourceTypeUrl = ResourceTypeUrl> =
  | { readonly ok: true; readonly decoded: Decoded<T> }
  | {
      readonly ok: false;
      /** The name the message carries; undefined when the bytes do not decode. */
      readonly name: string | undefined;
      /** Paths relative to the resource (`lb_policy`); "" for the resource itself (`cannot decode …`). */
      readonly issues: readonly Issue[];
    };

/**
 * Decodes `body` as a `typeUrl` resource and validates it: what a stock gRPC
 * client would ACK or NACK, with every problem at its field path. Used by
 * both the push guard and the resolver, so the two agree. Never throws.
 */
export function checkResource<T extends ResourceTypeUrl>(codec: Codec, typeUrl: T, body: Uint8Array): Checked<T> {
  let decoded: Decoded<T>;
  try {
    decoded = RESOURCE_KINDS[typeUrl].decode(codec, body);
  } catch (error) {
    return { ok: false, name: undefined, issues: [{ path: "", message: decodeProblem(error) }] };
  }
  const issues = validateDecoded(codec, decoded);
  return issues.length === 0 ? { ok: true, decoded } : { ok: false, name: decoded.name, issues };
}

/** Every problem in `decoded`, paths relative to the resource; [] when a stock client accepts it. Never throws. */
export function validateDecoded<T extends ResourceTypeUrl>(codec: Codec, decoded: Decoded<T>, findings?: Findings): Issue[] {
  const issues: Issue[] = [];
  const to = findings ?? collectFindings(issues);
  try {
    RESOURCE_KINDS[decoded.typeUrl].validate(codec, decoded, to);
  } catch (error) {
    // A validator that breaks on odd input must not wave the resource through: reject it, saying why.
    to.add("", `could not be validated: ${describe(error)}`);
  }
  return issues;
}

/** The resources `decoded` names (see ResourceType.references). Throws ProtoDecodeError for a nested Any that does not decode. */
export function referencesOf(codec: Codec, decoded: AnyDecoded): Reference[] {
  return (RESOURCE_KINDS[decoded.typeUrl] as ResourceType<ResourceTypeUrl>).references(codec, decoded);
}

/** `cannot decode <type>: …`, the codec's own words when it says that. */
export function decodeProblem(error: unknown): string {
  const text = describe(error);
  // The codec throws only ProtoDecodeError ("cannot decode <type>: …"); anything else is named as such.
  return text.startsWith("cannot decode") ? text : `cannot decode: ${text}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
