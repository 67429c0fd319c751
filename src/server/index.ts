import { createAdminServer } from "../admin/index.js";
import { createTokenAuthority, ensureAdminToken } from "../auth/index.js";
import { createSystemClock, type Clock } from "../clock/index.js";
import { createDnsServer, RATE_LIMIT_DEFAULTS } from "../dns/index.js";
import { ValidationError } from "../errors/index.js";
import { ACK_BOOKS, createEventHub } from "../events/index.js";
import { createFaultInjector, createLabFaults, createPipelineFaults } from "../faults/index.js";
import { canaryGroupOf, createPushGuard } from "../guard/index.js";
import { createHealthMonitor, createRendezvousOwnership, ownEverything } from "../health/index.js";
import { createMetrics, registerClientGauges } from "../metrics/index.js";
import { loadCodec } from "../proto/index.js";
import { createRegistry, openStore } from "../registry/index.js";
import { createSnapshotCache, createXdsServer } from "../xds/index.js";
import type { Snapshot } from "../snapshot/index.js";
import { resolve } from "node:path";
import { listenerBinds, SERVE_DEFAULTS, type ListenerBind, type ListenerName, type RunningServer, type ServeOptions } from "./options.js";
import { checkListenerBinds } from "./bind-policy.js";
import { listenError } from "./listen-error.js";
import { reservePorts, type PortReservation } from "./port-reservation.js";
import { createReplyFanout } from "./reply-fanout.js";
import { startSpine } from "./spine.js";
import { createPropagationTracker, trackServiceEndpoints, watchStoreHealth } from "./observers.js";
import { setUpIdentity } from "./tls-setup.js";

export { SERVE_DEFAULTS, type ServeOptions, type RunningServer, type ListenAddress } from "./options.js";
export { startSpine, type RegistryFeed, type Spine, type SpineDeps } from "./spine.js";
export { checkBindPolicy, checkListenerBinds, type BindPolicyInput } from "./bind-policy.js";
export { defaultTlsSans } from "./tls-setup.js";

/**
 * Starts a control plane: store → registry → snapshot builder → push guard →
 * snapshot cache → xDS server, with the health monitor writing instance health
 * into the registry, and the admin API and the DNS server (which
 * reads the registry directly) beside it; with `enableFaults`, the fault
 * injector sits between the snapshot cache and the xDS server. Every fixed
 * port is reserved before anything else (port-reservation.ts): one taken by
 * another process fails the start with one line naming the listener and
 * its address, before the data dir is touched. If any listener fails to
 * start, everything already started is closed again before the error is thrown.
 */
export async function startServer(options: ServeOptions, clock: Clock = createSystemClock()): Promise<RunningServer> {
  const { logger } = options;
  if (options.enableFaults && options.streamGate) throw new ValidationError([{ path: "streamGate", message: "cannot be combined with enableFaults, whose fault injector is the stream gate" }]);
  checkListenerBinds(options, logger);
  const binds = listenerBinds(options);
  // Before the store opens: a port another process has fails here, with nothing written or pushed.
  const reservation = await reservePorts([
    { listener: "xds", bind: binds.xds, port: options.xdsPort },
    { listener: "admin", bind: binds.admin, port: options.adminPort },
    { listener: "dns", bind: binds.dns, port: options.dnsPort, udp: true },
  ]);
  try {
    return await startReserved(options, clock, binds, reservation);
  } finally {
    await reservation.release();
  }
}

/** startServer once every fixed port is reserved; `reservation` is released just before the listeners bind. */
async function startReserved(options: ServeOptions, clock: Clock, binds: Record<ListenerName, ListenerBind>, reservation: PortReservation): Promise<RunningServer> {
  const { logger } = options;
  const metrics = createMetrics();
  const codec = loadCodec();
  // One backend, two interfaces: the registry's Store, and the push guard's generation log beside it.
  const store = await openStore(options.store, { dataDir: options.dataDir, logger, ...(options.replicaId !== undefined && { replica: options.replicaId }) });
  const identity = await setUpIdentity(options, store.secrets, clock).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const registry = await createRegistry(watchStoreHealth(store, metrics, clock), { logger });
  const cache = createSnapshotCache({ groupOf: canaryGroupOf(options.rollout) });
  const faults = options.enableFaults ? createFaultInjector(cache) : undefined;
  // The xDS server comes first: the guard is built with its client list and its replies (the canary's verdicts).
  const replies = createReplyFanout();
  const xds = createXdsServer({ watcher: faults?.watcher ?? cache, codec, logger, metrics, clock, onReply: replies.emit, ...(identity.tls && { tls: identity.tls }), ...((faults ?? options.streamGate) && { streamGate: faults ?? options.streamGate }) });
  // Before the guard, which tells it of every generation from its restore on; the web console reads and hears it.
  const events = createEventHub({ registry, clock, logger, clientCounts: () => {
    const { sotw, delta } = xds.clientCounts();
    return { connected: sotw + delta, sotw, delta };
  } });
  const stopEventReplies = replies.watch(events.onReply);
  const guard = await createPushGuard({
    log: store.generations, cache, codec, policy: options.guard, rollout: options.rollout, ...(options.retention && { retention: options.retention }), clock, logger, metrics,
    clientStatus: { clients: () => xds.clients(), watchReplies: replies.watch },
    onGeneration: events.onGeneration,
  });
  // The generations restored from the log: hello names the newest, and ACKs of the one clients have get their push time.
  for (const generation of guard.list().slice(-ACK_BOOKS)) events.onGeneration(generation);
  registerClientGauges(metrics, () => xds.clientCounts());
  const propagation = createPropagationTracker({ metrics, clock, revisionOf: (id) => guard.get(id)?.revision });
  const stopPropagation = replies.watch(propagation.onReply);
  if (!options.guard.enabled) logger.warn("the push guard's holds are OFF (--no-guard): generations that delete most of the configuration are pushed; invalid ones are still rejected");
  const toGuard = (snapshot: Snapshot) => void guard.offer(snapshot).catch((err: unknown) => logger.error({ err, revision: snapshot.revision }, "the push guard could not decide on a snapshot; clients keep the last pushed generation"));
  // With faults on, a faulty snapshot source sits above the guard (the lab's pipeline bugs).
  const pipeline = options.enableFaults ? createPipelineFaults({ codec, logger, next: toGuard }) : undefined;
  const publish = pipeline ? (snapshot: Snapshot) => pipeline.offer(snapshot) : toGuard;
  // `initial`: a service that does not build at start keeps what the guard restored for its clients.
  const spine = startSpine({ registry, codec, publish, clock, minDelayMs: options.pushMinDelayMs, maxDelayMs: options.pushMaxDelayMs, logger, metrics, initial: cache.current(), prepare: (before, step) => guard.prepare(before, step), trustDomain: options.trustDomain, dnsDomain: options.dnsDomain, onChangeBuilt: propagation.changeBuilt });
  const stopEndpoints = trackServiceEndpoints(events, metrics);
  const labFaults = faults && createLabFaults({ injector: faults, pipeline: pipeline!, codec, clock, logger, metrics });
  if (faults) logger.warn("fault injection is ON: POST /v1/faults can break what xDS clients see; never enable it in production");
  // On a shared store, each instance's checks and TTL run on one live replica; a single process owns everything.
  const ownership = store.members ? createRendezvousOwnership(store.members) : ownEverything();
  const { liveness } = store;
  const health = createHealthMonitor({ registry, clock, logger, metrics, ownership, liveness, ttlGraceMs: options.ttlGraceMs, damping: options.healthDamping });
  // Tokens live beside the registry, so every replica of a shared store takes the same ones.
  const authority = createTokenAuthority({ tokens: store.tokens, clock });
  if (!options.auth) logger.warn("admin API authentication is OFF (--auth off): every local user and process may change the registry");
  const admin = createAdminServer({ auth: options.auth ? { required: true, authority } : { required: false, authority }, registry, clients: { list: () => xds.clients() }, generations: guard, builds: spine, heartbeats: health, liveness, metrics, logger, bodyLimit: options.bodyLimit, faults: labFaults, adminHosts: options.adminHosts, certificates: identity.ca, tls: identity.tls,
    events, checks: health, dnsDomain: options.dnsDomain, labReportsDir: resolve(options.labReportsDir ?? SERVE_DEFAULTS.labReportsDir), clock });
  const dnsRateLimit = options.dnsRateLimit === undefined ? {} : { rateLimit: options.dnsRateLimit === 0 ? (false as const) : { ...RATE_LIMIT_DEFAULTS, responsesPerSecond: options.dnsRateLimit } };
  const dns = createDnsServer({ registry, domain: options.dnsDomain, ttlSeconds: options.dnsTtlSeconds, logger, metrics, clock, ...dnsRateLimit });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // First, so that no health write starts while the rest shuts down.
      await health.stop();
      spine.stop();
      stopEndpoints();
      stopPropagation();
      stopEventReplies();
      events.stop();
      await guard.close();
      labFaults?.close();
      await Promise.allSettled([xds.close(), admin.close(), dns.close()]);
      await registry.close();
      logger.info("steadymesh stopped");
    })());

  try {
    await reservation.release();
    const listen = <T>(listener: ListenerName, port: number, bind: (address: string, port: number) => Promise<T>) =>
      bind(binds[listener].address, port).catch((err: unknown) => {
        throw listenError(listener, binds[listener], port, err);
      });
    const xdsAddress = await listen("xds", options.xdsPort, (address, port) => xds.listen(address, port));
    const adminAddress = await listen("admin", options.adminPort, (address, port) => admin.listen(address, port));
    const dnsAddress = await listen("dns", options.dnsPort, (address, port) => dns.listen(address, port));
    // After the listeners: a start that fails to bind writes no token.
    if (options.auth) await ensureAdminToken({ authority, dataDir: options.dataDir, logger });
    logger.info({ store: store.kind, tls: identity.tls !== undefined, revision: registry.view().revision, xds: xdsAddress, admin: adminAddress, dns: dnsAddress }, "steadymesh started");
    return { xds: xdsAddress, admin: adminAddress, dns: dnsAddress, ...(identity.caFile !== undefined && { caFile: identity.caFile }), xdsServer: xds, guard, close, ...(faults && { faults, labFaults }) };
  } catch (err) {
    await close();
    throw err;
  }
}
