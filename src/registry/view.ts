import type { Instance, Service } from "./model.js";

/** A service with its instances, as of one registry revision. */
export interface ServiceEntry {
  readonly service: Service;
  /** Keyed by instance id. */
  readonly instances: ReadonlyMap<string, Instance>;
}

/**
 * The registry's read side: an immutable view at one revision. A new object is
 * made for every revision; unchanged ServiceEntry objects are shared between
 * consecutive views (so `===` tells a consumer which services changed).
 */
export interface RegistryView {
  readonly revision: number;
  /** Keyed by service name. */
  readonly services: ReadonlyMap<string, ServiceEntry>;
}
