import type { SortedMap } from "../collections/index.js";
import type { Instance, Service } from "./model.js";

/** A service with its instances, as of one registry revision. */
export interface ServiceEntry {
  readonly service: Service;
  /** Keyed by instance id, in id order. */
  readonly instances: ReadonlyMap<string, Instance>;
}

/**
 * The registry's read side: an immutable view at one revision. A new object is
 * made for every revision; unchanged ServiceEntry objects are shared between
 * consecutive views (so `===` tells a consumer which services changed). The
 * registry's own views hold SortedMaps derived from one another, so
 * `SortedMap.diffFrom` between two of them costs what changed; a view built
 * by hand (tests, benches) may hold any ReadonlyMap in name order.
 */
export interface RegistryView {
  readonly revision: number;
  /** Keyed by service name, in name order. */
  readonly services: ReadonlyMap<string, ServiceEntry> | SortedMap<ServiceEntry>;
}
