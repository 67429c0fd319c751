import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RegistryView } from "../registry/index.js";
import type { FailingService, ServiceFailure } from "../snapshot/index.js";

/** Which services' configuration is not being updated, from one build to the next. */
export interface FailureBook {
  /**
   * Records one build from `view`: `failures` are the services it could not
   * build, `previousRevision` the revision of the snapshot it carried their
   * old resources over from.
   */
  record(view: RegistryView, failures: readonly ServiceFailure[], previousRevision: number | undefined): void;
  /** The service's failure, or undefined while it builds. */
  get(service: string): FailingService | undefined;
  /** Every failing service, by name. */
  list(): FailingService[];
}

/**
 * Keeps a FailingService per service from its first failing build until one
 * builds it again (or it leaves the registry): one warn line and the gauge
 * `steadymesh_snapshot_service_failing{service}` set to 1 when it starts,
 * one info line and the gauge series removed when it ends; builds in
 * between update its problems quietly.
 */
export function createFailureBook(deps: { readonly clock: Clock; readonly logger: Logger; readonly metrics?: Metrics | undefined }): FailureBook {
  const { logger, metrics } = deps;
  const failing = new Map<string, FailingService>();

  function start(revision: number, failure: ServiceFailure, previousRevision: number | undefined): FailingService {
    const servedRevision = failure.kept ? previousRevision : undefined;
    const record: FailingService = {
      service: failure.service,
      status: "failing",
      since: new Date(deps.clock.now()).toISOString(),
      sinceRevision: revision,
      ...(servedRevision !== undefined && { servedRevision }),
      problems: failure.issues,
    };
    metrics?.snapshotServiceFailing.set({ service: failure.service }, 1);
    const kept = servedRevision === undefined ? "no resources for it" : `the resources built from revision ${servedRevision}`;
    logger.warn(
      { service: failure.service, revision, problems: failure.issues },
      `the configuration of service ${failure.service} does not build; its clients keep ${kept} until it is fixed, and the other services are updated as usual`,
    );
    return record;
  }

  function end(record: FailingService, view: RegistryView): void {
    metrics?.snapshotServiceFailing.remove({ service: record.service });
    const what = view.services.has(record.service) ? "builds again; its clients get updates again" : "is no longer failing: the service left the registry";
    logger.info({ service: record.service, revision: view.revision, since: record.since, sinceRevision: record.sinceRevision }, `the configuration of service ${record.service} ${what}`);
  }

  return {
    record(view, failures, previousRevision) {
      const now = new Set<string>();
      for (const failure of failures) {
        now.add(failure.service);
        const known = failing.get(failure.service);
        failing.set(failure.service, known ? { ...known, problems: failure.issues } : start(view.revision, failure, previousRevision));
      }
      for (const [service, record] of failing) {
        if (now.has(service)) continue;
        failing.delete(service);
        end(record, view);
      }
    },
    get: (service) => failing.get(service),
    list: () => [...failing.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)),
  };
}
