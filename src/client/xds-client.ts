import * as grpc from "@grpc/grpc-js";
import type { Clock } from "../clock/index.js";
import { CLUSTER_TYPE, LISTENER_TYPE, RESOURCE_TYPES, createAdsServiceDefinition, shortTypeName, type Codec, type DiscoveryRequest, type DiscoveryResponse, type Node, type ResourceTypeUrl } from "../proto/index.js";
import type { SteadyEvent } from "./events.js";
import type { ClientLogger } from "./logger.js";
import { decodeResource, type ResourceModel } from "./xds-resources.js";

/**
 * What a watcher of one resource is told: `ok`, fresh from the control plane;
 * `held`, the control plane deleted it or sent it invalid, and the last good
 * copy is kept (gRFC A88); `missing`, there is no copy at all.
 */
export type ResourceUpdate =
  | { readonly status: "ok"; readonly model: ResourceModel }
  | { readonly status: "held"; readonly model: ResourceModel; readonly reason: string }
  | { readonly status: "missing"; readonly reason: string };

type EventInput = SteadyEvent extends infer E ? (E extends SteadyEvent ? Omit<E, "at"> : never) : never;

export interface XdsClientDeps {
  /** HOST:PORT in priority order (gRFC A71). */
  readonly servers: readonly string[];
  readonly node: Node;
  readonly codec: Codec;
  readonly clock: Clock;
  readonly backoff: { next(): number; reset(): void };
  /** A new stream that answers nothing in this long is abandoned as stalled. */
  readonly streamTimeoutMs: number;
  /** Obey deletions (true) or keep the cached copy (false, gRFC A88). */
  readonly strict: boolean;
  readonly logger: ClientLogger;
  readonly emit: (event: EventInput) => void;
}

/** A State-of-the-World ADS client, one per process, shared by every target. */
export interface XdsClient {
  watch(typeUrl: ResourceTypeUrl, name: string, onUpdate: (update: ResourceUpdate) => void): () => void;
  /** True while a stream is open and has answered. */
  isConnected(): boolean;
  /** True once every server was tried since the last answer and none answered. */
  allServersFailed(): boolean;
  /** One line for error messages, e.g. `cannot reach 127.0.0.1:18000 (UNAVAILABLE: …); retrying`. */
  describe(): string;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  close(): void;
}

interface Accepted {
  readonly model: ResourceModel;
  readonly body: Uint8Array;
}

interface TypeState {
  readonly watchers: Map<string, Set<(update: ResourceUpdate) => void>>;
  readonly accepted: Map<string, Accepted>;
  /** Names whose watchers were last told `held` or `missing`; a good copy is announced to them even if unchanged. */
  readonly unsettled: Set<string>;
  version: string;
  /** Nonce of the last response on the current stream. */
  nonce: string;
}

type AdsCall = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export function createXdsClient(deps: XdsClientDeps): XdsClient {
  const AdsClient = grpc.makeGenericClientConstructor(createAdsServiceDefinition(deps.codec), "AggregatedDiscoveryService");
  const channels = new Map<string, grpc.Client>();
  const types = new Map<ResourceTypeUrl, TypeState>(RESOURCE_TYPES.map((t) => [t, { watchers: new Map(), accepted: new Map(), unsettled: new Set(), version: "", nonce: "" }]));
  const connectionListeners = new Set<(connected: boolean) => void>();
  let serverIndex = 0;
  let call: AdsCall | undefined;
  let generation = 0;
  let answered = false;
  let nodeSent = false;
  let connected = false;
  let closed = false;
  let cancelTimer: (() => void) | undefined;
  let lastProblem = "not connected yet";
  let failedRound = false;

  const server = () => deps.servers[serverIndex]!;

  function setConnected(value: boolean): void {
    if (connected === value) return;
    connected = value;
    for (const listener of [...connectionListeners]) listener(value);
  }

  function send(typeUrl: ResourceTypeUrl, errorDetail?: string): void {
    if (!call) return;
    const state = types.get(typeUrl)!;
    const request: DiscoveryRequest = {
      version_info: state.version,
      resource_names: [...state.watchers.keys()].sort(),
      type_url: typeUrl,
      response_nonce: state.nonce,
      ...(!nodeSent && { node: deps.node }),
      ...(errorDetail !== undefined && { error_detail: { code: grpc.status.INVALID_ARGUMENT, message: errorDetail, details: [] } }),
    };
    nodeSent = true;
    call.write(request);
  }

  function connect(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    if (closed) return;
    const target = server();
    let channel = channels.get(target);
    if (!channel) {
      channel = new AdsClient(target, grpc.credentials.createInsecure());
      channels.set(target, channel);
    }
    const gen = ++generation;
    answered = false;
    nodeSent = false;
    for (const state of types.values()) state.nonce = "";
    const stream = (channel as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources();
    call = stream;
    deps.logger.debug({ server: target }, "opening ADS stream");
    cancelTimer = deps.clock.setTimeout(() => {
      if (gen === generation && !answered) streamEnded(gen, `no response within ${deps.streamTimeoutMs} ms (stalled)`, stream);
    }, deps.streamTimeoutMs);
    stream.on("data", (response: DiscoveryResponse) => gen === generation && onResponse(response));
    stream.on("status", (status: grpc.StatusObject) => streamEnded(gen, `${grpc.status[status.code]}: ${status.details}`));
    stream.on("error", (err: Error) => deps.logger.debug({ server: target, err: err.message }, "ADS stream error"));
    for (const typeUrl of RESOURCE_TYPES) if (types.get(typeUrl)!.watchers.size > 0) send(typeUrl);
  }

  function streamEnded(gen: number, reason: string, stream?: AdsCall): void {
    if (gen !== generation) return;
    generation++;
    stream?.cancel();
    call = undefined;
    cancelTimer?.();
    cancelTimer = undefined;
    const from = server();
    lastProblem = `${from}: ${reason}`;
    if (connected) deps.emit({ type: "xds-disconnected", server: from, reason });
    setConnected(false);
    if (closed) return;
    if (!answered && serverIndex + 1 < deps.servers.length) {
      serverIndex++;
      deps.logger.warn({ from, to: server(), reason }, "xDS server unusable; failing over to the next one");
      deps.emit({ type: "xds-failover", from, to: server(), reason });
      connect();
      return;
    }
    serverIndex = 0;
    if (!answered) {
      failedRound = true;
      // Tell targets now: with nothing cached they need not wait out their start-up timeout.
      for (const listener of [...connectionListeners]) listener(false);
    }
    const delay = deps.backoff.next();
    deps.logger.warn({ server: from, reason, retryInMs: Math.round(delay) }, "ADS stream ended; keeping last good endpoints and retrying");
    cancelTimer = deps.clock.setTimeout(connect, delay);
  }

  function onResponse(response: DiscoveryResponse): void {
    if (!answered) {
      answered = true;
      cancelTimer?.();
      cancelTimer = undefined;
      deps.backoff.reset();
      failedRound = false;
      deps.logger.info({ server: server() }, "connected to xDS server");
      deps.emit({ type: "xds-connected", server: server() });
      setConnected(true);
    }
    const typeUrl = RESOURCE_TYPES.find((t) => t === response.type_url);
    if (!typeUrl) {
      deps.logger.warn({ typeUrl: response.type_url }, "response of a type we did not ask for; ignored");
      return;
    }
    const state = types.get(typeUrl)!;
    state.nonce = response.nonce;
    const decoded = new Map<string, Accepted>();
    const errors: string[] = [];
    const failed = new Set<string>();
    for (const any of response.resources) {
      if (any.type_url !== typeUrl) {
        errors.push(`resource of type ${any.type_url} in a ${typeUrl} response`);
        failed.add("?");
        continue;
      }
      const result = decodeResource(deps.codec, typeUrl, any.value);
      if (result.ok) decoded.set(result.model.name, { model: result.model, body: any.value });
      else {
        errors.push(`${shortTypeName(typeUrl)} ${result.name}: ${result.errors.join("; ")}`);
        failed.add(result.name);
      }
    }
    if (errors.length > 0) {
      nack(typeUrl, state, response, errors.join(" | "), failed);
      return;
    }
    state.version = response.version_info;
    send(typeUrl);
    apply(typeUrl, state, decoded);
  }

  function nack(typeUrl: ResourceTypeUrl, state: TypeState, response: DiscoveryResponse, detail: string, failed: ReadonlySet<string>): void {
    deps.logger.warn({ typeUrl, nonce: response.nonce, version: response.version_info, detail }, "NACK: keeping the last accepted resources");
    deps.emit({ type: "nack", typeUrl, nonce: response.nonce, detail });
    for (const name of state.watchers.keys()) {
      const kept = state.accepted.get(name);
      if (!kept || !(failed.has(name) || failed.has("?"))) continue;
      deps.emit({ type: "update-ignored", target: name, kind: "invalid-resource", detail });
      state.unsettled.add(name);
      notify(state, name, { status: "held", model: kept.model, reason: `the control plane sent an invalid ${shortTypeName(typeUrl)} ${name}; NACKed it` });
    }
    send(typeUrl, detail);
  }

  function apply(typeUrl: ResourceTypeUrl, state: TypeState, decoded: Map<string, Accepted>): void {
    for (const [name, next] of decoded) {
      if (!state.watchers.has(name)) continue;
      const previous = state.accepted.get(name);
      state.accepted.set(name, next);
      // A resource whose watchers were told held/missing is re-announced even when
      // its bytes are identical: that is exactly the case that leaves grpc-js-xds stuck.
      const wasUnsettled = state.unsettled.delete(name);
      if (!wasUnsettled && previous && Buffer.compare(previous.body, next.body) === 0) continue;
      notify(state, name, { status: "ok", model: next.model });
    }
    // State of the World: a Listener or Cluster left out of its response is deleted.
    if (typeUrl !== LISTENER_TYPE && typeUrl !== CLUSTER_TYPE) return;
    for (const name of state.watchers.keys()) {
      if (!decoded.has(name)) onDeleted(typeUrl, state, name);
    }
  }

  function onDeleted(typeUrl: ResourceTypeUrl, state: TypeState, name: string): void {
    const kind = typeUrl === LISTENER_TYPE ? "listener-deleted" : "cluster-deleted";
    const what = `the control plane deleted ${shortTypeName(typeUrl)} ${name}`;
    const kept = state.accepted.get(name);
    const wasUnsettled = state.unsettled.has(name);
    state.unsettled.add(name);
    if (kept && !deps.strict) {
      if (wasUnsettled) return; // already held; say it once per deletion
      deps.logger.warn({ typeUrl, name }, `${what}; keeping the last good copy (gRFC A88)`);
      deps.emit({ type: "update-ignored", target: name, kind, detail: what });
      notify(state, name, { status: "held", model: kept.model, reason: what });
      return;
    }
    if (wasUnsettled && !kept) return; // already told it is missing
    state.accepted.delete(name);
    notify(state, name, { status: "missing", reason: kept ? what : `the control plane has no ${shortTypeName(typeUrl)} ${name}` });
  }

  function notify(state: TypeState, name: string, update: ResourceUpdate): void {
    for (const watcher of [...(state.watchers.get(name) ?? [])]) watcher(update);
  }

  return {
    watch(typeUrl, name, onUpdate) {
      const state = types.get(typeUrl)!;
      let set = state.watchers.get(name);
      const isNew = !set;
      if (!set) state.watchers.set(name, (set = new Set()));
      set.add(onUpdate);
      const cached = state.accepted.get(name);
      const held = state.unsettled.has(name);
      if (cached) queueMicrotask(() => set!.has(onUpdate) && onUpdate(held ? { status: "held", model: cached.model, reason: "the control plane no longer sends it" } : { status: "ok", model: cached.model }));
      if (isNew) {
        if (call) send(typeUrl);
        else if (!cancelTimer && !closed) connect();
      }
      return () => {
        set!.delete(onUpdate);
        if (set!.size > 0 || state.watchers.get(name) !== set) return;
        state.watchers.delete(name);
        state.accepted.delete(name);
        state.unsettled.delete(name);
        send(typeUrl);
      };
    },
    isConnected: () => connected,
    allServersFailed: () => failedRound,
    describe: () => (connected ? `connected to ${server()}` : `no live stream (last problem: ${lastProblem})`),
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closed = true;
      generation++;
      cancelTimer?.();
      call?.cancel();
      call = undefined;
      for (const channel of channels.values()) channel.close();
    },
  };
}
