import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { isResourceTypeUrl, shortTypeName, type DiscoveryRequest, type Node } from "../proto/index.js";
import type { ClientStatus, TypeStatus } from "./client-status.js";
import { clientStatusOf, nodeInfoOf, recordReply, typeStatusOf, type ClientReply, type ReplyContext, type ReplyState } from "./reply-book.js";

export type { ClientReply } from "./reply-book.js";
import { StreamStatus, type StreamTransport } from "./transport.js";
import type { ResponseWire } from "./wire.js";
import type { NodeInfo, ResourceWatcher, Subscription, WatchResponse } from "./watcher.js";

export interface SotwStreamDeps {
  readonly id: string;
  readonly watcher: ResourceWatcher;
  readonly transport: StreamTransport;
  /** Encodes responses from parts shared by every stream. */
  readonly wire: ResponseWire;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now: () => number;
  /** Sees every ACK and NACK (the push guard's canary watches these). */
  readonly onReply?: (reply: ClientReply) => void;
}

/** Per-type state of one stream. */
interface TypeState extends ReplyState {
  subscription: Subscription;
  /** True once the client has named resources: an empty list then means "none", not wildcard. */
  named: boolean;
  cancel?: () => void;
}

/**
 * One State-of-the-World ADS stream (Envoy xDS protocol): tracks per type the
 * subscription, the nonce and version last sent, and the client's ACK/NACK.
 * A request carrying the last nonce sent is an ACK or NACK and is answered only
 * if it changes the subscription; a request with an older nonce is ignored; a
 * request with no nonce (first request, or a reconnect) always gets the full
 * current state.
 */
export class SotwStream {
  private readonly types = new Map<string, TypeState>();
  private node: Node | undefined;
  private nonceSeq = 0;
  private closed = false;
  private readonly connectedAt: number;

  constructor(private readonly deps: SotwStreamDeps) {
    this.connectedAt = deps.now();
  }

  get nodeId(): string {
    return this.node?.id ?? "";
  }

  /** The client as the node of its first request described it. */
  get nodeInfo(): NodeInfo {
    return nodeInfoOf(this.node);
  }

  /** Handles one DiscoveryRequest from the client. */
  onRequest(request: DiscoveryRequest): void {
    if (this.closed) return;
    if (!this.node && request.node) this.node = request.node;
    const typeUrl = request.type_url;
    if (!typeUrl) {
      this.reject("missing-type-url", "type_url is required on every ADS request");
      return;
    }
    const state = this.types.get(typeUrl);
    if (request.response_nonce === "" || !state) {
      this.subscribe(typeUrl, request, state);
      return;
    }
    if (request.response_nonce !== state.sentNonce) {
      this.deps.logger.debug({ stream: this.deps.id, node: this.nodeId, type: shortTypeName(typeUrl), nonce: request.response_nonce, current: state.sentNonce }, "ignoring request with a stale nonce");
      return;
    }
    this.recordReply(typeUrl, state, request);
    const next = subscriptionOf(request.resource_names, state.named);
    if (!sameSubscription(next, state.subscription)) {
      state.subscription = next;
      state.named ||= request.resource_names.length > 0;
      this.startWatch(typeUrl, state);
    }
  }

  /** Stops every watch; called when the transport closes. */
  close(): void {
    this.closed = true;
    for (const state of this.types.values()) state.cancel?.();
  }

  status(): ClientStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, s] of this.types) {
      types[shortTypeName(typeUrl)] = typeStatusOf(typeUrl, s, s.subscription.wildcard ? ["*"] : [...s.subscription.names].sort());
    }
    return clientStatusOf({ id: this.deps.id, node: this.node, peer: this.deps.transport.peer, connectedAt: this.connectedAt, protocol: "sotw" }, types);
  }


  private subscribe(typeUrl: string, request: DiscoveryRequest, previous: TypeState | undefined): void {
    previous?.cancel?.();
    const named = request.resource_names.length > 0;
    const state: TypeState = {
      subscription: subscriptionOf(request.resource_names, named),
      named,
      sentVersion: previous?.sentVersion ?? "",
      sentNonce: previous?.sentNonce ?? "",
      ackedVersion: previous?.ackedVersion ?? request.version_info,
      ...(previous?.ackedAt !== undefined && { ackedAt: previous.ackedAt }),
      ...(previous?.ackedGeneration !== undefined && { ackedGeneration: previous.ackedGeneration }),
      ...(previous?.lastNack && { lastNack: previous.lastNack }),
    };
    this.types.set(typeUrl, state);
    if (!isResourceTypeUrl(typeUrl)) {
      // The protocol has no error reply for a type we do not serve: none of its
      // resources exist, so the answer is an empty response of that type.
      this.deps.metrics?.xdsBadRequests.inc({ reason: "unknown-type-url" });
      this.deps.logger.warn({ stream: this.deps.id, node: this.nodeId, typeUrl }, "request for an unknown resource type; answering with no resources");
      this.send(typeUrl, state, { version: "", resources: [] });
      return;
    }
    this.startWatch(typeUrl, state);
  }

  private startWatch(typeUrl: string, state: TypeState): void {
    state.cancel?.();
    if (!isResourceTypeUrl(typeUrl)) {
      this.send(typeUrl, state, { version: "", resources: [] });
      return;
    }
    state.cancel = this.deps.watcher.watch(
      { typeUrl, subscription: state.subscription, nodeId: this.nodeId, node: this.nodeInfo },
      (response) => this.send(typeUrl, state, response),
    );
  }

  private send(typeUrl: string, state: TypeState, response: Pick<WatchResponse, "version" | "resources" | "generation">): void {
    if (this.closed || this.types.get(typeUrl) !== state) return;
    const nonce = String(++this.nonceSeq);
    state.sentVersion = response.version;
    state.sentNonce = nonce;
    state.sentGeneration = response.generation;
    this.deps.transport.send(this.deps.wire.sotw({ version: response.version, typeUrl, nonce }, response.resources));
    this.deps.metrics?.xdsPushes.inc({ type: shortTypeName(typeUrl) });
  }

  private recordReply(typeUrl: string, state: TypeState, request: DiscoveryRequest): void {
    recordReply(this.replyContext(), typeUrl, state, { nonce: request.response_nonce, detail: request.error_detail, ackedVersion: request.version_info, keptVersion: request.version_info });
  }

  private replyContext(): ReplyContext {
    const { id, logger, metrics, now, onReply } = this.deps;
    return { streamId: id, node: this.nodeInfo, logger, metrics, now, onReply };
  }

  private reject(reason: string, details: string): void {
    this.deps.metrics?.xdsBadRequests.inc({ reason });
    this.deps.logger.warn({ stream: this.deps.id, node: this.nodeId, reason }, `ending ADS stream: ${details}`);
    this.close();
    this.deps.transport.end(StreamStatus.INVALID_ARGUMENT, details);
  }
}

/**
 * xDS wildcard rules: `*` asks for everything; an empty list asks for
 * everything only while the client has never named a resource of this type
 * (legacy wildcard); otherwise the names are the subscription.
 */
export function subscriptionOf(names: readonly string[], everNamed: boolean): Subscription {
  if (names.includes("*") || (names.length === 0 && !everNamed)) return { wildcard: true };
  return { wildcard: false, names: new Set(names) };
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a.wildcard || b.wildcard) return a.wildcard === b.wildcard;
  if (a.names.size !== b.names.size) return false;
  for (const name of a.names) if (!b.names.has(name)) return false;
  return true;
}
