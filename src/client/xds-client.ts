import type { Clock } from "../clock/index.js";
import { CLUSTER_TYPE, LISTENER_TYPE, RESOURCE_TYPES, shortTypeName, type Codec, type DiscoveryRequest, type DiscoveryResponse, type Node, type ResourceTypeUrl } from "../proto/index.js";
import type { AdsStream, AdsTransport } from "./ads-transport.js";
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
  /** Opens the ADS streams; closed by `close()`. */
  readonly transport: AdsTransport;
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
  /** The last version accepted, on any stream. */
  version: string;
}

/** One ADS stream's own bookkeeping: its first request carries the node, and nonces belong to the stream. */
interface Session {
  /** Index into `servers`. */
  readonly server: number;
  readonly stream: AdsStream;
  nodeSent: boolean;
  readonly nonces: Map<ResourceTypeUrl, string>;
}

/**
 * The connection is in exactly one of these states; `step` is the only
 * place that moves it (the transitions are tabled in docs/architecture.md).
 * `roundFailed`: every server was tried since the last answer and none answered.
 */
type Connection =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly session: Session; readonly stallTimer: () => void; readonly roundFailed: boolean }
  | { readonly kind: "streaming"; readonly session: Session }
  | { readonly kind: "backoff"; readonly retryTimer: () => void; readonly roundFailed: boolean }
  | { readonly kind: "closed" };

type ConnectionEvent =
  | { readonly kind: "watch" }
  | { readonly kind: "answer"; readonly session: Session }
  | { readonly kind: "end"; readonly session: Session; readonly reason: string }
  | { readonly kind: "retry" }
  | { readonly kind: "close" };

/** google.rpc.Code INVALID_ARGUMENT, the code of a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

const sessionOf = (c: Connection): Session | undefined => (c.kind === "connecting" || c.kind === "streaming" ? c.session : undefined);

export function createXdsClient(deps: XdsClientDeps): XdsClient {
  const types = new Map<ResourceTypeUrl, TypeState>(RESOURCE_TYPES.map((t) => [t, { watchers: new Map(), accepted: new Map(), unsettled: new Set(), version: "" }]));
  const connectionListeners = new Set<(connected: boolean) => void>();
  let connection: Connection = { kind: "idle" };
  let lastProblem = "not connected yet";

  /** The one place where the connection changes state. */
  function step(event: ConnectionEvent): void {
    const from = connection;
    switch (event.kind) {
      case "watch":
        if (from.kind === "idle") open(0, false);
        return;
      case "retry":
        if (from.kind === "backoff") open(0, from.roundFailed);
        return;
      case "answer":
        if (from.kind !== "connecting" || from.session !== event.session) return;
        enter({ kind: "streaming", session: event.session });
        return onConnected(event.session);
      case "end":
        if ((from.kind === "connecting" || from.kind === "streaming") && from.session === event.session) onEnded(from, event.reason);
        return;
      case "close":
        enter({ kind: "closed" });
        deps.transport.close();
    }
  }

  /** Leaves the current state, releasing what it held (a timer, a stream the next state does not keep), and enters `next`. */
  function enter(next: Connection): void {
    const from = connection;
    if (from.kind === "connecting") from.stallTimer();
    if (from.kind === "backoff") from.retryTimer();
    const leaving = sessionOf(from);
    if (leaving && leaving !== sessionOf(next)) leaving.stream.cancel();
    connection = next;
  }

  function open(server: number, roundFailed: boolean): void {
    const target = deps.servers[server]!;
    deps.logger.debug({ server: target }, "opening ADS stream");
    const session: Session = {
      server,
      nodeSent: false,
      nonces: new Map(),
      stream: deps.transport.open(target, {
        onResponse: (response) => onResponse(session, response),
        onEnd: (reason) => step({ kind: "end", session, reason }),
      }),
    };
    const stallTimer = deps.clock.setTimeout(() => step({ kind: "end", session, reason: `no response within ${deps.streamTimeoutMs} ms (stalled)` }), deps.streamTimeoutMs);
    enter({ kind: "connecting", session, stallTimer, roundFailed });
    for (const typeUrl of RESOURCE_TYPES) if (types.get(typeUrl)!.watchers.size > 0) send(typeUrl);
  }

  function onConnected(session: Session): void {
    deps.backoff.reset();
    const server = deps.servers[session.server]!;
    deps.logger.info({ server }, "connected to xDS server");
    deps.emit({ type: "xds-connected", server });
    tellListeners(true);
  }

  function onEnded(from: Connection & { readonly session: Session }, reason: string): void {
    const server = deps.servers[from.session.server]!;
    lastProblem = `${server}: ${reason}`;
    const next = from.session.server + 1;
    if (from.kind === "connecting" && next < deps.servers.length) {
      deps.logger.warn({ from: server, to: deps.servers[next], reason }, "xDS server unusable; failing over to the next one");
      deps.emit({ type: "xds-failover", from: server, to: deps.servers[next]!, reason });
      return open(next, from.roundFailed);
    }
    const delay = deps.backoff.next();
    enter({ kind: "backoff", retryTimer: deps.clock.setTimeout(() => step({ kind: "retry" }), delay), roundFailed: from.kind === "connecting" });
    if (from.kind === "streaming") deps.emit({ type: "xds-disconnected", server, reason });
    // Told even when the round failed without ever connecting: with nothing cached, targets need not wait out their start-up timeout.
    tellListeners(false);
    deps.logger.warn({ server, reason, retryInMs: Math.round(delay) }, "ADS stream ended; keeping last good endpoints and retrying");
  }

  function tellListeners(connected: boolean): void {
    for (const listener of [...connectionListeners]) listener(connected);
  }

  function send(typeUrl: ResourceTypeUrl, errorDetail?: string): void {
    const session = sessionOf(connection);
    if (!session) return;
    const state = types.get(typeUrl)!;
    const request: DiscoveryRequest = {
      version_info: state.version,
      resource_names: [...state.watchers.keys()].sort(),
      type_url: typeUrl,
      response_nonce: session.nonces.get(typeUrl) ?? "",
      ...(!session.nodeSent && { node: deps.node }),
      ...(errorDetail !== undefined && { error_detail: { code: INVALID_ARGUMENT, message: errorDetail, details: [] } }),
    };
    session.nodeSent = true;
    session.stream.write(request);
  }

  function onResponse(session: Session, response: DiscoveryResponse): void {
    if (sessionOf(connection) !== session) return; // a stream already left
    step({ kind: "answer", session });
    const typeUrl = RESOURCE_TYPES.find((t) => t === response.type_url);
    if (!typeUrl) {
      deps.logger.warn({ typeUrl: response.type_url }, "response of a type we did not ask for; ignored");
      return;
    }
    const state = types.get(typeUrl)!;
    session.nonces.set(typeUrl, response.nonce);
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
        if (sessionOf(connection)) send(typeUrl);
        else step({ kind: "watch" });
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
    isConnected: () => connection.kind === "streaming",
    allServersFailed: () => (connection.kind === "connecting" || connection.kind === "backoff") && connection.roundFailed,
    describe: () => (connection.kind === "streaming" ? `connected to ${deps.servers[connection.session.server]}` : `no live stream (last problem: ${lastProblem})`),
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    close: () => step({ kind: "close" }),
  };
}
