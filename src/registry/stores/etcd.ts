import type { Etcd3 } from "etcd3";
import { createSystemClock, type Clock } from "../../clock/index.js";
import { UnavailableError, ValidationError } from "../../errors/index.js";
import { createSilentLogger, type Logger } from "../../log/index.js";
import type { GenerationLog } from "../generation-log.js";
import type { TokenStore } from "../token-store.js";
import type { Backend, CommitResult, Mutation, StoreState } from "../store.js";
import { writeEtcdBatch } from "./etcd-batch.js";
import { commitPoint, parseInstance, parseService, registryKeys, storeRevision, type RegistryKeys } from "./etcd-commit.js";
import { ensureEndpointIndex } from "./etcd-endpoint-index.js";
import { createEtcdGenerationLog } from "./etcd-generation-log.js";
import { createEtcdLiveness, watchEtcdMembers, type EtcdMembers } from "./etcd-liveness.js";
import { claimReplica, type ReplicaClaim } from "./etcd-replica.js";
import { createEtcdClient, etcdFailure, op, rangeAt, REQUEST_TIMEOUT_MS, revisionOf, txn } from "./etcd-kv.js";
import { createEtcdSecrets } from "./etcd-secrets.js";
import { watchCommits, type CommitWatch } from "./etcd-watch.js";
import { createFeed, type Feed } from "./feed.js";
import { createAsyncGroupCommit } from "./group-commit.js";
import { createEtcdTokenStore } from "./token-store-etcd.js";

export interface EtcdStoreOptions {
  /** Client endpoints, `host:port`; etcd3 spreads requests over them and fails over between them. */
  readonly endpoints: readonly string[];
  /** Every key the store writes starts with it; default `/steadymesh/`. A missing trailing `/` is added. */
  readonly prefix?: string;
  readonly logger?: Logger;
  /**
   * This replica's id (a DNS label, default `default`): the registry is
   * shared by every replica, each replica's push-guard generation log is its
   * own (`<prefix>replicas/<id>/…`), and a live process holds the id under an
   * etcd lease (etcd-replica.ts).
   */
  readonly replica?: string;
  /** How long to wait for a claimed replica id to be freed before giving up; default one lease period plus 2 s. */
  readonly replicaWaitMs?: number;
  /** For the store's own timeouts and waits (open, the replica claim's retries, a commit waiting for its watch event); the system clock by default. */
  readonly clock?: Clock;
}

export const DEFAULT_ETCD_PREFIX = "/steadymesh/";

/** Commits handed to one batch at most; the batch is cut further to fit one etcd txn (etcd-batch.ts). */
const MAX_BATCH = 256;

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Parses `etcd://host:port[,host:port…]` (the value of `serve --store`) into
 * endpoints. Throws a one-line ValidationError on path `store` otherwise.
 */
export function parseEtcdSpec(spec: string): string[] {
  const shown = JSON.stringify(spec.length > 60 ? `${spec.slice(0, 59)}…` : spec);
  const endpoints = spec.slice("etcd://".length).split(",");
  const valid = (endpoint: string): boolean => {
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(endpoint);
    return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
  };
  if (!spec.startsWith("etcd://") || !endpoints.every(valid)) {
    throw new ValidationError([{ path: "store", message: `must be etcd://host:port[,host:port…] with ports 1-65535, got ${shown}` }]);
  }
  return endpoints;
}

interface EtcdStoreParts {
  readonly client: Etcd3;
  readonly keys: RegistryKeys;
  readonly endpoints: readonly string[];
  readonly logger: Logger;
  readonly ensureOpen: () => void;
  /** The store's watch; commit waits on it so a local commit reaches watchers before it resolves. */
  readonly watch: CommitWatch;
}

/** Reads the whole registry in one txn, so everything comes from one etcd revision. */
async function loadState(parts: EtcdStoreParts): Promise<StoreState> {
  const { client, keys } = parts;
  const response = await txn(client, [op.get(keys.commit), op.range(keys.services), op.range(keys.instances)]);
  const services = rangeAt(response, 1).map(parseService).sort((a, b) => compareText(a.name, b.name));
  const instances = rangeAt(response, 2)
    .map(parseInstance)
    .sort((a, b) => compareText(a.service, b.service) || compareText(a.id, b.id));
  return { revision: storeRevision(commitPoint(rangeAt(response, 0)[0])), services, instances };
}

function createEtcdStore(parts: EtcdStoreParts & { feed: Feed; close(): Promise<void> }, generations: GenerationLog, tokens: TokenStore): Omit<Backend, "secrets"> {
  const { endpoints, ensureOpen, feed } = parts;
  // Local commits go in batches, one batch in flight: they would only race each other for the commit key.
  const group = createAsyncGroupCommit((batch: readonly (readonly Mutation[])[]) => writeEtcdBatch(parts, batch), MAX_BATCH);
  return {
    kind: "etcd",
    generations,
    tokens,
    async load() {
      ensureOpen();
      try {
        return await loadState(parts);
      } catch (err) {
        throw etcdFailure(endpoints, "load", err);
      }
    },
    async commit(mutations) {
      ensureOpen();
      let result: CommitResult;
      try {
        result = await group.submit(mutations);
      } catch (err) {
        throw etcdFailure(endpoints, "commit", err);
      }
      if (result.events.length > 0 && !(await parts.watch.reached(result.revision, REQUEST_TIMEOUT_MS))) {
        parts.logger.debug({ revision: result.revision }, "etcd watch has not delivered this commit yet; it will when it catches up");
      }
      return result;
    },
    commitStats: () => group.stats(),
    watch: (onEvents) => feed.watch(onEvents),
    close: parts.close,
  };
}

/**
 * The HA Store: registry and generation log in etcd under one prefix, shared
 * by every replica that opens the same prefix. Keys (prefix `/steadymesh/`):
 * `services/<name>`, `instances/<service>/<id>` (JSON), the unique-endpoint
 * index `endpoints/<service>/<port>/<address>/<id>` (built on open for a
 * registry written before it, etcd-endpoint-index.ts), `commit` (the last
 * batch's events, see etcd-commit.ts) and the generation log's keys (see
 * etcd-generation-log.ts). The store counts its own revisions, one per
 * changing commit, in the commit key (storeRevision). Commits that arrive
 * together go in one etcd txn (group commit, etcd-batch.ts), each still
 * atomic on its own, with its own revision, and acknowledged only once etcd
 * has taken the txn; every replica's watch delivers every commit from etcd. Unreachable etcd: load and commit
 * throw UnavailableError within a few seconds, and the watch resumes where it
 * was once etcd answers again. Opening throws UnavailableError when etcd does
 * not answer. Beside the registry: `liveness` (heartbeats under etcd leases,
 * `heartbeats/<service>/<id>`) and `members` (the live replicas, from their
 * `replicas/<id>/owner` claims); see etcd-liveness.ts. Admin API tokens,
 * shared by every replica, are under `tokens/` (token-store-etcd.ts), and
 * `secrets/<name>` (the built-in CA), see etcd-secrets.ts.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<Backend> {
  const endpoints = [...options.endpoints];
  if (endpoints.length === 0) throw new ValidationError([{ path: "endpoints", message: "must list at least one host:port" }]);
  const given = options.prefix ?? DEFAULT_ETCD_PREFIX;
  const prefix = given.endsWith("/") ? given : `${given}/`;
  const logger = options.logger ?? createSilentLogger();
  const clock = options.clock ?? createSystemClock();
  const client = createEtcdClient(endpoints);
  const keys = registryKeys(prefix);
  const feed = createFeed(logger);
  let closed = false;
  let watch: CommitWatch;
  let members: EtcdMembers;
  const replica = options.replica ?? "default";
  const replicaPrefix = `${prefix}replicas/${replica}/`;
  let claim: ReplicaClaim;
  try {
    claim = await claimReplica(client, `${replicaPrefix}owner`, replica, logger, clock, options.replicaWaitMs);
  } catch (err) {
    client.close();
    if (err instanceof UnavailableError) throw err;
    throw etcdFailure(endpoints, "open", err);
  }
  try {
    await ensureEndpointIndex(client, keys, logger);
    const response = await txn(client, [op.get(keys.commit)]);
    const point = commitPoint(rangeAt(response, 0)[0]);
    const afterEtcdRevision = revisionOf(response.header.revision);
    watch = await watchCommits({ client, key: keys.commit, afterEtcdRevision, deliveredRevision: storeRevision(point), feed, clock, logger, timeoutMs: REQUEST_TIMEOUT_MS, endpoints });
    members = await watchEtcdMembers(client, prefix, replica, logger);
    logger.info({ endpoints, prefix, replica, revision: storeRevision(point) }, "etcd store opened");
  } catch (err) {
    await claim.release().catch((releaseErr: unknown) => logger.debug({ err: releaseErr }, "releasing the replica claim after a failed open"));
    client.close();
    throw etcdFailure(endpoints, "open", err);
  }
  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError(`etcd store at ${endpoints.join(",")} is closed`);
  };
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    feed.clear();
    await watch.close(REQUEST_TIMEOUT_MS);
    await members.close().catch((err: unknown) => logger.debug({ err }, "cancelling the live replicas watch on close"));
    // A lost etcd cannot take the release; the lease then expires by itself.
    await claim.release().catch((err: unknown) => logger.debug({ err }, "releasing the replica claim on close"));
    client.close();
    logger.info({ endpoints, prefix }, "etcd store closed");
  };
  const parts = { client, keys, endpoints, logger, ensureOpen, watch, feed, close };
  const failure = (what: string, err: unknown): Error => etcdFailure(endpoints, what, err);
  const tokens = createEtcdTokenStore({ client, prefix, ensureOpen, failure });
  const store = createEtcdStore(parts, createEtcdGenerationLog({ client, prefix: replicaPrefix, logger, ensureOpen, failure }), tokens);
  return { ...store, liveness: createEtcdLiveness(client, prefix, failure), members, secrets: createEtcdSecrets(client, prefix, ensureOpen, failure) };
}
