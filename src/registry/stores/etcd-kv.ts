import { Etcd3, type IKeyValue, type IRequestOp, type IResponseOp, type ITxnResponse } from "etcd3";
import { createBackoff, type Backoff, type BackoffOptions } from "../../clock/index.js";
import { SteadyError, UnavailableError } from "../../errors/index.js";

/**
 * The thin layer between the etcd store and the `etcd3` client: raw KV
 * operations on full keys (the store adds its prefix itself, so one request
 * can mix reads, puts and range deletes), one `txn` call, and the error and
 * revision conversions every etcd module shares.
 */

/** How long one etcd request may take before it fails as unavailable. */
export const REQUEST_TIMEOUT_MS = 2000;

/**
 * etcd's watch stream reconnects after 100–200 ms (150 ms ± 1/3), doubling
 * per failed attempt, the base capped at 1.5 s so no wait reaches 2 s.
 * Jitter, so replicas that lost the same member do not reconnect in lockstep.
 */
export const WATCH_BACKOFF: BackoffOptions = { initialMs: 150, multiplier: 2, maxMs: 1500, jitter: 1 / 3, jitterAboveMax: true };

/**
 * What etcd3 expects of a backoff (cockatiel's IBackoff): immutable steps,
 * each with its duration and the step after it. etcd3 never waits on the
 * first one's duration: it calls `next()` on it to start each series (after
 * every successful watch response), so that is where a fresh Backoff starts.
 */
export interface WatchBackoff {
  readonly duration: number;
  next(): WatchBackoff;
}

/** `options` as etcd3's watch backoff. */
export function watchBackoff(options: BackoffOptions): WatchBackoff {
  const stepOf = (backoff: Backoff): WatchBackoff => {
    let after: WatchBackoff | undefined;
    return { duration: backoff.next(), next: () => (after ??= stepOf(backoff)) };
  };
  return { duration: 0, next: () => stepOf(createBackoff(options)) };
}

/**
 * An etcd3 client for `endpoints` (`host:port`): requests time out after
 * REQUEST_TIMEOUT_MS (streams do not), etcd3's default fault handling stays
 * (three tries over shuffled hosts, a circuit breaker per host), and the
 * watch stream reconnects within about two seconds of etcd coming back.
 */
export function createEtcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: endpoints.map((endpoint) => `http://${endpoint}`),
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + REQUEST_TIMEOUT_MS }),
    // A large registry loads in one range response; grpc-js would cap it at 4 MiB.
    grpcOptions: { "grpc.max_receive_message_length": 256 * 1024 * 1024 },
    faultHandling: { watchBackoff: watchBackoff(WATCH_BACKOFF) },
  });
}

/** The first key after every key that starts with `prefix`: etcd's range_end for a prefix. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

export const op = {
  get: (key: string): IRequestOp => ({ request_range: { key: Buffer.from(key) } }),
  /** Every key under `prefix`; keys only when `keysOnly`. */
  range: (prefix: string, keysOnly = false, revision?: number): IRequestOp => {
    const key = Buffer.from(prefix);
    return { request_range: { key, range_end: prefixEnd(key), keys_only: keysOnly, ...(revision !== undefined && { revision }) } };
  },
  put: (key: string, value: string | Uint8Array): IRequestOp => ({
    request_put: { key: Buffer.from(key), value: typeof value === "string" ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength) },
  }),
  delete: (key: string): IRequestOp => ({ request_delete_range: { key: Buffer.from(key) } }),
  deletePrefix: (prefix: string): IRequestOp => {
    const key = Buffer.from(prefix);
    return { request_delete_range: { key, range_end: prefixEnd(key) } };
  },
};

/** A compare that holds only while `key`'s mod revision is `modRevision` (0: the key does not exist). */
export interface ModGuard {
  readonly key: string;
  readonly modRevision: number;
}

/**
 * Runs one etcd transaction: `ops` when every guard holds (all of them when
 * there are none). Resolves with etcd's answer, `succeeded` false when a
 * guard failed; rejects with whatever etcd3 threw.
 */
export function txn(client: Etcd3, ops: readonly IRequestOp[], guards: readonly ModGuard[] = []): Promise<ITxnResponse> {
  // `kv` is etcd3's typed KV service client; its builders cannot mix prefixed keys with range deletes in one txn.
  return client.kv.txn(
    {
      compare: guards.map((guard) => ({ key: Buffer.from(guard.key), target: "Mod", result: "Equal", mod_revision: guard.modRevision })),
      success: [...ops],
      failure: [],
    },
    // One deadline for the call, however often etcd3 retries it on another member.
    { deadline: Date.now() + REQUEST_TIMEOUT_MS },
  );
}

/** The key-values of the range at `index` of a txn's responses. */
export function rangeAt(response: ITxnResponse, index: number): IKeyValue[] {
  const item: IResponseOp | undefined = response.responses[index];
  if (!item?.response_range) throw new Error(`etcd txn response ${index} is not a range`);
  return item.response_range.kvs;
}

/** etcd's int64 revisions arrive as decimal strings; they stay far below 2^53. */
export function revisionOf(value: string | number | undefined): number {
  return Number(value ?? 0);
}

/** Whether etcd refused a request for what it asked (too many operations, too large), not for being unreachable. */
function refusedByEtcd(err: unknown): boolean {
  return err instanceof Error && /too many operations in txn request|request is too large|exceeds the maximum/i.test(err.message);
}

/**
 * Turns a failed etcd call into the error the Store contract promises:
 * SteadyErrors as they are, anything else as UnavailableError naming the
 * endpoints and etcd's reason, with the original as `cause`.
 */
export function etcdFailure(endpoints: readonly string[], what: string, err: unknown): Error {
  if (err instanceof SteadyError) return err;
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
  const reason = /circuit breaker is open/.test(message)
    ? "no member answered the last requests (etcd3 tries again within 5 s)"
    : message.replace(/\s*Resolution note:\s*$/, "");
  const at = endpoints.join(",");
  if (refusedByEtcd(err)) return new UnavailableError(`etcd at ${at} refused ${what}: ${reason}`, { cause: err });
  return new UnavailableError(`etcd unavailable at ${at}: ${what} failed: ${reason}`, { cause: err });
}
