import { NotFoundError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Instance, Registry } from "../registry/index.js";
import type { Verdict } from "./model.js";

/** The part of the registry the monitor uses. */
export type MonitoredRegistry = Pick<Registry, "view" | "subscribe" | "setHealth" | "deleteInstance">;

/** The monitor's writes to the registry; see createWriteQueue. */
export interface WriteQueue {
  /** Queues a health write (logged with `why` when it changes something); a no-op when nothing is queued and the registry already has `to`. */
  setHealth(service: string, id: string, to: Verdict, why: string): void;
  /** Queues a deregistration (a TTL and its grace period ran out). */
  remove(service: string, id: string, why: string): void;
  /** Starts nothing more; resolves once the writes already started have finished. */
  stop(): Promise<void>;
  /** Resolves once every queued write has finished. */
  drain(): Promise<void>;
}

/**
 * The monitor's writes, one at a time per instance and in order. Each is
 * checked against the registry when its turn comes, so a write that is no
 * longer needed (same health already, instance gone or draining) is skipped.
 * Failures are logged; the next check result asks again.
 */
export function createWriteQueue(registry: MonitoredRegistry, logger: Logger, metrics: Metrics | undefined): WriteQueue {
  const pending = new Map<string, Promise<void>>();
  let stopped = false;

  function enqueue(service: string, id: string, write: () => Promise<void>): void {
    const k = `${service}/${id}`;
    const tail = (pending.get(k) ?? Promise.resolve()).then(() => (stopped ? undefined : write()));
    pending.set(k, tail);
    void tail.finally(() => pending.get(k) === tail && pending.delete(k));
  }

  function current(service: string, id: string): Instance | undefined {
    return registry.view().services.get(service)?.instances.get(id);
  }

  async function writeHealth(service: string, id: string, to: Verdict, why: string): Promise<void> {
    const from = current(service, id)?.health;
    if (from === undefined || from === to || from === "draining") return;
    try {
      const result = await registry.setHealth(service, id, to);
      if (!result.changed) return;
      metrics?.healthTransitions.inc({ to });
      logger.info({ service, id, from, to, why, revision: result.revision }, `instance ${service}/${id} is now ${to}`);
    } catch (err) {
      if (err instanceof NotFoundError) logger.debug({ service, id, to }, "instance went away before its health was written");
      else logger.error({ err, service, id, to, why }, "could not write an instance's health; the next check result tries again");
    }
  }

  async function remove(service: string, id: string, why: string): Promise<void> {
    if (!current(service, id)) return;
    try {
      const result = await registry.deleteInstance(service, id);
      metrics?.ttlRemovals.inc();
      logger.info({ service, id, why, revision: result.revision }, `instance ${service}/${id} removed`);
    } catch (err) {
      if (err instanceof NotFoundError) logger.debug({ service, id }, "instance already removed");
      else logger.error({ err, service, id, why }, "could not remove an instance whose TTL ran out; trying again shortly");
    }
  }

  const drain = async () => void (await Promise.allSettled([...pending.values()]));
  return {
    setHealth(service, id, to, why) {
      // The common case, checked before anything is queued: nothing to write.
      if (!pending.has(`${service}/${id}`) && current(service, id)?.health === to) return;
      enqueue(service, id, () => writeHealth(service, id, to, why));
    },
    remove: (service, id, why) => enqueue(service, id, () => remove(service, id, why)),
    async stop() {
      stopped = true;
      await drain();
    },
    drain,
  };
}
