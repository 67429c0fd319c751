import type { Etcd3, IWatchResponse, Watcher } from "etcd3";
import type { Clock } from "../../clock/index.js";
import { UnavailableError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import { decodeRecord } from "./etcd-commit.js";
import { revisionOf } from "./etcd-kv.js";
import type { Feed } from "./feed.js";

export interface CommitWatchOptions {
  readonly client: Etcd3;
  /** The commit key (see etcd-commit.ts); every registry commit rewrites it. */
  readonly key: string;
  /** The etcd revision the store was read at; the watch replays everything after it. */
  readonly afterEtcdRevision: number;
  /** The store revision read at that point: commits at or below it are not delivered again. */
  readonly deliveredRevision: number;
  readonly feed: Feed;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long to wait for etcd to accept the watch before open fails. */
  readonly timeoutMs: number;
  /** For error messages. */
  readonly endpoints: readonly string[];
}

/** The store's one etcd watch, which feeds every commit, local or remote, to the store's watchers. */
export interface CommitWatch {
  /** Resolves true once the commit with store revision `revision` has been delivered, or false after `timeoutMs`. */
  reached(revision: number, timeoutMs: number): Promise<boolean>;
  /** Cancels the etcd watch (waiting at most `timeoutMs` for etcd to confirm); call before closing the client. */
  close(timeoutMs: number): Promise<void>;
}

/** Resolves with `promise`, or with `fallback` after `ms` on `clock`. */
function within<T>(clock: Clock, ms: number, promise: Promise<T>, fallback: T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}

/** Delivered-so-far bookkeeping: what has reached the feed, and who waits for more. */
class Delivery {
  private waiters: { readonly revision: number; resolve(reached: boolean): void }[] = [];

  constructor(
    /** The highest store revision published to the feed. */
    public delivered: number,
    private readonly clock: Clock,
  ) {}

  /** Records that `revision` reached the feed and wakes whoever waited for it. */
  advance(revision: number): void {
    this.delivered = Math.max(this.delivered, revision);
    const ready = this.waiters.filter((w) => w.revision <= this.delivered);
    this.waiters = this.waiters.filter((w) => w.revision > this.delivered);
    for (const waiter of ready) waiter.resolve(true);
  }

  reached(revision: number, timeoutMs: number): Promise<boolean> {
    if (revision <= this.delivered) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        revision,
        resolve: (reached: boolean) => {
          cancel();
          resolve(reached);
        },
      };
      const cancel = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves every waiter with false; for close. */
  abandon(): void {
    for (const waiter of this.waiters.splice(0)) waiter.resolve(false);
  }
}

/**
 * Handles the watch's responses: each commit record reaches the feed once, and
 * the watcher's resume point stays just after the last commit delivered.
 */
function createResponseHandler(options: CommitWatchOptions, delivery: Delivery) {
  const { key, feed, logger } = options;
  let lastEtcdRevision = options.afterEtcdRevision;
  /** Points `watcher`'s next (re)connect just after the last commit seen. */
  const pin = (watcher: Watcher): void => {
    watcher.request.start_revision = lastEtcdRevision + 1;
  };
  // Never throws: etcd3 rethrows a listener's error outside any handler, which would end the process.
  const onData = (watcher: Watcher, response: IWatchResponse): void => {
    try {
      for (const event of response.events) {
        lastEtcdRevision = Math.max(lastEtcdRevision, revisionOf(event.kv.mod_revision));
        if (event.type !== "Put") {
          logger.error({ key, etcdRevision: event.kv.mod_revision }, "the etcd commit key was deleted; revisions restart at 1 and replicas must be restarted");
          continue;
        }
        // A record holds a batch of commits: each reaches the feed as its own commit, at its own revision.
        for (const commit of decodeRecord(event.kv)) {
          if (commit.revision <= delivery.delivered) continue;
          feed.publish(commit.events);
          delivery.advance(commit.revision);
        }
      }
      // An empty response is a progress notification, sent only once the watch has caught up: nothing is missed up to its header.
      if (response.events.length === 0) lastEtcdRevision = Math.max(lastEtcdRevision, revisionOf(response.header.revision));
    } catch (err) {
      logger.error({ err, key }, "could not decode an etcd commit record; its events are skipped");
    } finally {
      pin(watcher);
    }
  };
  return { onData, pin };
}

/**
 * Watches the commit key from `afterEtcdRevision + 1`, so each commit reaches
 * `feed` exactly once, in revision order, each commit of a record's batch as
 * its own delivery.
 * When the stream breaks (a member dies, etcd restarts), etcd3 reconnects and
 * the watch resumes after the last commit delivered, replaying whatever
 * happened meanwhile: the handler keeps the resume point itself, because
 * etcd3 moves it to the header revision of each response, which can run
 * ahead of the events delivered while a reconnected watch catches up.
 * Throws UnavailableError when etcd does not accept the watch in `timeoutMs`.
 */
export async function watchCommits(options: CommitWatchOptions): Promise<CommitWatch> {
  const { client, key, clock, logger } = options;
  const delivery = new Delivery(options.deliveredRevision, clock);
  const handle = createResponseHandler(options, delivery);
  const pending = client.watch().key(key).startRevision(String(options.afterEtcdRevision + 1)).create();
  const watcher = await within(clock, options.timeoutMs, pending, undefined);
  if (!watcher) {
    // The watcher stays queued inside etcd3; cancel it if it ever connects so it does not linger.
    pending.then((late) => late.cancel()).catch((err: unknown) => logger.debug({ err }, "a late etcd watch could not be cancelled"));
    throw new UnavailableError(`etcd unavailable at ${options.endpoints.join(",")}: the watch was not accepted within ${options.timeoutMs} ms`);
  }
  handle.pin(watcher);
  const listener = (response: IWatchResponse): void => handle.onData(watcher, response);
  watcher.on("data", listener);
  watcher.on("disconnected", (err: Error) => logger.warn({ err: err.message, delivered: delivery.delivered }, "etcd watch lost; reconnecting"));
  watcher.on("connected", () => {
    // etcd3 has just moved the resume point to this create response's header revision; put it back.
    handle.pin(watcher);
    logger.info({ delivered: delivery.delivered }, "etcd watch connected");
  });
  watcher.on("error", (err: Error) => {
    // etcd cancelled the watch (its history was compacted past the resume point): later commits are not seen.
    logger.error({ err: err.message, delivered: delivery.delivered }, "etcd watch cancelled; this replica no longer sees commits and must be restarted");
  });
  return {
    reached: (revision, timeoutMs) => delivery.reached(revision, timeoutMs),
    async close(timeoutMs) {
      delivery.abandon();
      watcher.removeListener("data", listener);
      const cancelled = await within(clock, timeoutMs, watcher.cancel().then(() => true), false);
      if (!cancelled) logger.debug({ key }, "etcd did not confirm the watch cancel in time; closing the client anyway");
    },
  };
}
