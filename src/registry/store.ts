import type { GenerationLog } from "./generation-log.js";
import type { Instance, Service } from "./model.js";
import type { TrafficPolicy } from "./policy.js";
import type { TokenStore } from "./token-store.js";

/** One change to apply; a commit applies a list of them atomically. */
export type Mutation =
  /**
   * With `keepIntentions`, the service keeps the intentions its stored record
   * has (the service's own are ignored then); with `keepPolicy`, likewise its
   * stored traffic policy.
   */
  | { readonly kind: "put-service"; readonly service: Service; readonly keepIntentions?: boolean; readonly keepPolicy?: boolean }
  /** Deletes the service and every instance of it. */
  | { readonly kind: "delete-service"; readonly name: string }
  /**
   * Creates `service` with defaults first when it does not exist. With
   * `uniqueEndpoint`, a put that creates the instance or moves it to another
   * address or port is refused (ConflictError, nothing of the commit applied)
   * when another instance of the service already has that address and port;
   * a put that keeps the instance's own address and port is always allowed.
   */
  | { readonly kind: "put-instance"; readonly instance: Instance; readonly serviceDefaults: Service; readonly uniqueEndpoint?: boolean }
  | { readonly kind: "delete-instance"; readonly service: string; readonly id: string }
  /**
   * Sets the intention from `source` (a service name or `*`) on the record of
   * `destination`, creating `destination` from `serviceDefaults` when it does
   * not exist; with `action` absent, removes it (nothing changes, no event,
   * when there is none). Yields one `service-put` with the whole new record,
   * so replicas and the generation log see an ordinary service write.
   */
  | { readonly kind: "set-intention"; readonly destination: string; readonly source: string; readonly action?: "allow" | "deny"; readonly serviceDefaults: Service }
  /**
   * Sets (`policy` present) the traffic policy on the record of `service`,
   * creating it from `serviceDefaults` when it does not exist, or removes it
   * (`policy` absent; nothing changes, no event, when there is none). The
   * policy must already be valid (policy-validate.ts). Yields one
   * `service-put` with the whole new record, like set-intention.
   */
  | { readonly kind: "set-policy"; readonly service: string; readonly policy?: TrafficPolicy; readonly serviceDefaults: Service };

/** What one commit changed. All events of one commit share its revision. */
export type ChangeEvent =
  | { readonly revision: number; readonly kind: "service-put"; readonly service: Service }
  | { readonly revision: number; readonly kind: "service-deleted"; readonly name: string }
  | { readonly revision: number; readonly kind: "instance-put"; readonly instance: Instance }
  | { readonly revision: number; readonly kind: "instance-deleted"; readonly service: string; readonly id: string };

/** Everything in the store, read at one revision. */
export interface StoreState {
  readonly revision: number;
  readonly services: readonly Service[];
  readonly instances: readonly Instance[];
}

export interface CommitResult {
  /** The store's revision after the commit; unchanged when nothing changed. */
  readonly revision: number;
  readonly events: readonly ChangeEvent[];
}

/**
 * Where the registry keeps its state. Contract (checked by the shared suite in
 * test/unit/store-contract.ts for every backend):
 * - the revision starts at 0 on an empty store and rises by at least 1 on
 *   every commit that changes something; it never goes down, across restarts
 *   too for persistent backends;
 * - a commit is atomic: all of its mutations apply or none do;
 * - a put of an identical value still counts as a change (new revision);
 *   a delete of something absent changes nothing and yields no event;
 * - deleting a service yields `instance-deleted` for each of its instances,
 *   then `service-deleted`;
 * - watchers receive every commit's events exactly once, in revision order,
 *   whichever process wrote them (for a local commit, possibly before the
 *   commit's promise resolves; readers skip revisions they already have);
 * - a watcher that throws is logged; the commit still stands and the other
 *   watchers still get it;
 * - commit throws ValidationError for a malformed mutation (unknown kind, a
 *   name or id that is not a DNS label, a put-instance whose serviceDefaults
 *   name another service), ConflictError for a put-instance with
 *   `uniqueEndpoint` onto another instance's address and port (checked
 *   against the store's own state inside the commit, so two racing writers
 *   cannot both pass), and UnavailableError once closed or when the backend
 *   fails; either way nothing of that commit is applied;
 * - values are copied on the way in: changing an object after passing it to
 *   commit does not change the store. Values handed out are frozen.
 */
export interface Store {
  /** `memory`, `sqlite` or `etcd`; for logs and metrics. */
  readonly kind: string;
  /** Services in name order, instances in (service, id) order. UnavailableError once closed. */
  load(): Promise<StoreState>;
  commit(mutations: readonly Mutation[]): Promise<CommitResult>;
  /** Subscribes to commits made after this call; returns the unsubscribe function. */
  watch(onEvents: (events: readonly ChangeEvent[]) => void): () => void;
  /** Releases the backend (and, for sqlite, the data dir lock); calling it again does nothing. */
  close(): Promise<void>;
  /**
   * Backends with group commit (sqlite, etcd): how many batches were written and
   * how many commits they held, since the store was opened. Commits that
   * arrive together share one transaction (sqlite: one fsync; etcd: one txn); each is still
   * atomic on its own and acknowledged only once its batch is durable.
   */
  commitStats?(): { readonly batches: number; readonly items: number };
  /** Heartbeats shared by every replica (etcd); absent where one process holds them in memory. */
  readonly liveness?: Liveness;
  /** The live replicas sharing this store (etcd); absent for single-process stores. */
  readonly members?: Members;
}

/**
 * TTL heartbeats kept in the store beside, not in, the registry: a beat makes
 * no commit, no revision and no snapshot.
 */
export interface Liveness {
  /** Records a heartbeat that lapses by itself after ceil(ttlMs / 1000) s. UnavailableError when the backend fails. */
  beat(service: string, id: string, ttlMs: number): Promise<void>;
  /** True while the last beat of that instance has not lapsed. UnavailableError when the backend fails. */
  alive(service: string, id: string): Promise<boolean>;
}

/** The replicas currently alive on a shared store, each holding its id under a lease. */
export interface Members {
  /** This replica's id; it counts as a member even while its own claim is not visible. */
  readonly self: string;
  /** Live replica ids, sorted; includes `self`. */
  list(): readonly string[];
  /** Calls `onChange` after `list()` changed. Returns unsubscribe. */
  onChange(onChange: () => void): () => void;
}

/**
 * What a backend opens over one connection (one SQLite file, one etcd
 * client): the registry's Store, and beside it the push guard's
 * GenerationLog and the admin API's TokenStore, which have their own
 * contracts (generation-log.ts, token-store.ts) and are not part of the Store's.
 */
export type Backend = Store & { readonly generations: GenerationLog; readonly tokens: TokenStore; readonly secrets: Secrets };

/**
 * Small named values kept beside the registry (not in it: no commit, no
 * revision, no event), shared by every replica of a shared store: the
 * built-in CA's certificate and key. Contract (test/unit/store-secrets.test.ts):
 * - `putIfAbsent` stores `value` only when `name` holds nothing yet and
 *   resolves with what `name` holds afterwards, so of two writers racing on
 *   one name (two replicas starting together) both get the first writer's
 *   value;
 * - a stored value is never changed by `putIfAbsent`, and survives a reopen
 *   of a persistent backend;
 * - UnavailableError once closed or when the backend fails.
 * Values are stored as given (the sqlite file and etcd must be protected like
 * the CA key they hold).
 */
export interface Secrets {
  get(name: string): Promise<string | undefined>;
  putIfAbsent(name: string, value: string): Promise<string>;
}
