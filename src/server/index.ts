import { createAdminServer } from "../admin/index.js";
import { createSystemClock, type Clock } from "../clock/index.js";
import { createDnsServer } from "../dns/index.js";
import { createFaultInjector, createLabFaults } from "../faults/index.js";
import { createMetrics } from "../metrics/index.js";
import { loadCodec } from "../proto/index.js";
import { createRegistry, openStore } from "../registry/index.js";
import { createSnapshotCache, createXdsServer } from "../xds/index.js";
import type { RunningServer, ServeOptions } from "./options.js";
import { startSpine } from "./spine.js";

export { SERVE_DEFAULTS, type ServeOptions, type RunningServer, type ListenAddress } from "./options.js";
export { startSpine, type Spine, type SpineDeps } from "./spine.js";

/**
 * Starts a control plane: store → registry → snapshot builder → xDS server,
 * with the admin API and the DNS server (which reads the registry directly)
 * beside it; with `enableFaults`, the fault injector sits between the
 * snapshot cache and the xDS server. If any listener fails to start,
 * everything already started is closed again before the error is thrown.
 */
export async function startServer(options: ServeOptions, clock: Clock = createSystemClock()): Promise<RunningServer> {
  const { logger } = options;
  const metrics = createMetrics();
  const codec = loadCodec();
  const store = await openStore(options.store, { dataDir: options.dataDir, logger });
  const registry = await createRegistry(store, { logger });
  const cache = createSnapshotCache();
  const spine = startSpine({ registry, codec, publish: (s) => cache.setSnapshot(s), clock, coalesceMs: options.coalesceMs, logger, metrics });
  const faults = options.enableFaults ? createFaultInjector(cache) : undefined;
  const labFaults = faults && createLabFaults({ injector: faults, codec, clock, logger, metrics });
  if (faults) logger.warn("fault injection is ON: POST /v1/faults can break what xDS clients see; never enable it in production");
  const xds = createXdsServer({ watcher: faults?.watcher ?? cache, codec, logger, metrics, now: () => clock.now(), ...(faults && { streamGate: faults }) });
  const admin = createAdminServer({ registry, clients: { list: () => xds.clients() }, metrics, logger, bodyLimit: options.bodyLimit, faults: labFaults });
  const dns = createDnsServer({ registry, domain: options.dnsDomain, ttlSeconds: options.dnsTtlSeconds, logger, metrics, clock });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      spine.stop();
      labFaults?.close();
      await Promise.allSettled([xds.close(), admin.close(), dns.close()]);
      await registry.close();
      logger.info("steadymesh stopped");
    })());

  try {
    const xdsAddress = await xds.listen(options.bind, options.xdsPort);
    const adminAddress = await admin.listen(options.bind, options.adminPort);
    const dnsAddress = await dns.listen(options.bind, options.dnsPort);
    logger.info({ store: store.kind, revision: registry.view().revision, xds: xdsAddress, admin: adminAddress, dns: dnsAddress }, "steadymesh started");
    return { xds: xdsAddress, admin: adminAddress, dns: dnsAddress, close, ...(faults && { faults, labFaults }) };
  } catch (err) {
    await close();
    throw err;
  }
}
