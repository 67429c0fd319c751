import { clip, LOG_FIELD_CHARS } from "../log/index.js";
import { isResourceTypeUrl, type DiscoveryRequest } from "../proto/index.js";
import { AdsStream, type AdsStreamDeps, type AdsTypeState } from "./ads-stream.js";
import type { TypeStatus } from "./client-status.js";
import { checkNames, NO_USAGE, usageOfNames, type Usage } from "./limits.js";
import { recordReply, typeStatusOf } from "./reply-book.js";
import type { Subscription, WatchResponse } from "./watcher.js";

export type { ClientReply } from "./reply-book.js";

const NO_NAMES: ReadonlySet<string> = new Set();

/** Per-type state of one stream. */
interface TypeState extends AdsTypeState {
  subscription: Subscription;
  /** True once the client has named resources: an empty list then means "none", not wildcard. */
  named: boolean;
}

/**
 * One State-of-the-World ADS stream (Envoy xDS protocol): tracks per type the
 * subscription, the nonce and version last sent, and the client's ACK/NACK.
 * A request carrying the last nonce sent is an ACK or NACK. A request with any
 * other non-empty nonce is stale: it is neither, but its `resource_names`
 * still state the client's subscription (envoyproxy/envoy#10363; grpc-go
 * unsubscribes with stale nonces after a deletion). Either kind is answered
 * only when it changes the subscription, and then with the whole new answer.
 * A request with no nonce (first request, or a reconnect) always gets the
 * full current state. A request past one of the stream's limits (limits.ts)
 * ends the stream and changes nothing.
 */
export class SotwStream extends AdsStream<TypeState> {
  constructor(deps: AdsStreamDeps) {
    super(deps, "sotw");
  }

  /** Handles one DiscoveryRequest from the client. */
  onRequest(request: DiscoveryRequest): void {
    const typeUrl = this.admit(request);
    if (typeUrl === undefined) return;
    const state = this.types.get(typeUrl);
    const fresh = request.response_nonce === "" || !state;
    const bad = checkNames(this.limits, "resource_names", request.resource_names);
    if (bad) return this.endForLimit(bad);
    const next = subscriptionOf(request.resource_names, fresh ? false : state.named);
    const usage = next.wildcard ? NO_USAGE : usageOfNames(next.names);
    if (!this.withinBudget(typeUrl, "resource_names", usage)) return;
    if (fresh) return this.subscribe(typeUrl, request, state, next, usage);
    if (request.response_nonce === state.sentNonce) this.recordReply(typeUrl, state, request);
    else this.deps.logger.debug({ stream: this.deps.id, node: this.logNodeId, typeUrl: clip(typeUrl, LOG_FIELD_CHARS), nonce: clip(request.response_nonce, LOG_FIELD_CHARS), current: state.sentNonce }, "stale nonce: not an ACK or NACK; applying its resource_names only");
    if (!sameSubscription(next, state.subscription)) {
      state.subscription = next;
      state.usage = usage;
      state.named ||= request.resource_names.length > 0;
      this.startWatch(typeUrl, state);
    }
  }

  protected typeStatus(typeUrl: string, state: TypeState): TypeStatus {
    return typeStatusOf(typeUrl, state, state.subscription.wildcard ? { wildcard: true, names: NO_NAMES } : state.subscription);
  }

  private subscribe(typeUrl: string, request: DiscoveryRequest, previous: TypeState | undefined, subscription: Subscription, usage: Usage): void {
    previous?.cancel?.();
    const state: TypeState = {
      subscription,
      named: request.resource_names.length > 0,
      usage,
      sentVersion: previous?.sentVersion ?? "",
      sentNonce: previous?.sentNonce ?? "",
      ackedVersion: previous?.ackedVersion ?? request.version_info,
      ...(previous?.ackedAt !== undefined && { ackedAt: previous.ackedAt }),
      ...(previous?.ackedTag !== undefined && { ackedTag: previous.ackedTag }),
      ...(previous?.lastNack && { lastNack: previous.lastNack }),
    };
    this.types.set(typeUrl, state);
    // The protocol has no error reply for a type we do not serve: none of its
    // resources exist, so the answer is an empty response of that type.
    if (!isResourceTypeUrl(typeUrl)) this.warnUnknownType(typeUrl, "request for an unknown resource type; answering with no resources");
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
      (response) => {
        // An answer to named resources holds each that exists once: as many as asked for means none is unknown.
        if (!state.subscription.wildcard) this.noteUnknown(typeUrl, state, response.resources.length === state.subscription.names.size ? [] : state.subscription.names, namesOf(response.resources));
        this.send(typeUrl, state, response);
      },
    );
  }

  private send(typeUrl: string, state: TypeState, response: Pick<WatchResponse, "version" | "resources" | "tag">): void {
    this.sendResponse(typeUrl, state, response, (nonce) => this.deps.wire.sotw({ version: response.version, typeUrl, nonce }, response.resources));
  }

  private recordReply(typeUrl: string, state: TypeState, request: DiscoveryRequest): void {
    recordReply(this.replyContext(), typeUrl, state, { nonce: request.response_nonce, detail: request.error_detail, ackedVersion: request.version_info, keptVersion: request.version_info });
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

/** Membership in a response's resources, by name; the set is made on first use. */
function namesOf(resources: readonly { readonly name: string }[]): (name: string) => boolean {
  let names: Set<string> | undefined;
  return (name) => (names ??= new Set(resources.map((r) => r.name))).has(name);
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a.wildcard || b.wildcard) return a.wildcard === b.wildcard;
  if (a.names.size !== b.names.size) return false;
  for (const name of a.names) if (!b.names.has(name)) return false;
  return true;
}
