import type { ResourceTypeUrl } from "../proto/index.js";

/** One xDS resource, encoded once and shared by every stream that sends it. */
export interface Resource {
  readonly name: string;
  readonly typeUrl: ResourceTypeUrl;
  /** Derived from the encoded bytes: equal content ⇔ equal version. */
  readonly version: string;
  /** The serialized message: the `value` of the `google.protobuf.Any` sent on the wire. */
  readonly body: Uint8Array;
}

/** An immutable, consistent set of resources built from one registry revision. */
export interface Snapshot {
  /** Registry revision the snapshot was built from. */
  readonly revision: number;
  /** Derived from every resource version. */
  readonly version: string;
  readonly resources: Readonly<Record<ResourceTypeUrl, ReadonlyMap<string, Resource>>>;
  /** Per type, a version over every resource of that type (the wildcard answer). */
  readonly typeVersions: Readonly<Record<ResourceTypeUrl, string>>;
}
