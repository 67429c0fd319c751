import type { Issue } from "../errors/index.js";
import type { SortedMap } from "../collections/index.js";
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
  /** Each type's resources by name, in name order; a snapshot built from another shares its unchanged parts (SortedMap). */
  readonly resources: Readonly<Record<ResourceTypeUrl, SortedMap<Resource>>>;
  /** Per type, a version over every resource of that type (the wildcard answer). */
  readonly typeVersions: Readonly<Record<ResourceTypeUrl, string>>;
}

/** A service whose configuration one build could not make; the build's snapshot holds it as `kept` says. */
export interface ServiceFailure {
  readonly service: string;
  /** Every problem found, each with its path (`services[login].instances[i-2].address`, `RDS[login]…`). */
  readonly issues: readonly Issue[];
  /** True when the snapshot carries the service's resources from the previous snapshot; false when it has none of them. */
  readonly kept: boolean;
}

/**
 * A service whose configuration has not built since `since`: what the
 * control plane shows (admin API `build`, CLI, metrics) until it builds again.
 */
export interface FailingService {
  readonly service: string;
  readonly status: "failing";
  /** When the first failing build ran (ISO 8601), and the registry revision it was built from. */
  readonly since: string;
  readonly sinceRevision: number;
  /** The registry revision its clients' resources were built from; absent when they have none (it never built). */
  readonly servedRevision?: number;
  /** The problems of the latest build. */
  readonly problems: readonly Issue[];
}
