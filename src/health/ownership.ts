/**
 * Which instances this replica checks. With several replicas (etcd), each
 * instance's checks and TTL must run on exactly one of them; an
 * implementation hands instances out (e.g. through etcd leases) and moves
 * them when a replica dies.
 */
export interface Ownership {
  /** True when this replica runs the checks and TTL of that instance now. */
  owns(service: string, id: string): boolean;
  /**
   * Calls `onChange` whenever `owns` may answer differently for some
   * instance; the monitor then starts and stops what it runs. Returns
   * unsubscribe.
   */
  subscribe(onChange: () => void): () => void;
}

/** A single replica: owns every instance, and never changes its mind. */
export function ownEverything(): Ownership {
  return { owns: () => true, subscribe: () => () => undefined };
}
