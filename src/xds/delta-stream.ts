import type { SortedMap } from "../collections/index.js";
import { isResourceTypeUrl, type DeltaDiscoveryRequest } from "../proto/index.js";
import { clip, LOG_FIELD_CHARS } from "../log/index.js";
import { AdsStream, type AdsStreamDeps, type AdsTypeState } from "./ads-stream.js";
import type { TypeStatus } from "./client-status.js";
import { addUsage, checkInitialVersions, checkNames, type LimitViolation, type Usage } from "./limits.js";
import { recordReply, typeStatusOf } from "./reply-book.js";
import type { Resource } from "../snapshot/index.js";
import type { Subscription, WatchResponse } from "./watcher.js";

/** Per-type state of one Delta stream. */
interface DeltaTypeState extends AdsTypeState {
  wildcard: boolean;
  readonly names: Set<string>;
  /** What the client holds, name → version: what we sent, or what it declared in initial_resource_versions. */
  readonly known: Map<string, string>;
  /** What `initial_resource_versions` took of the budget; counted for as long as the type lives. */
  readonly seeded: Usage;
  /** For a wildcard subscription, the map of the last answer delivered, while `known` is exactly its versions. */
  held?: SortedMap<Resource> | undefined;
}

/**
 * One Delta (incremental) ADS stream, per the Envoy xDS protocol.
 *
 * Contracts:
 * - Subscriptions change by `resource_names_subscribe` / `_unsubscribe`. The
 *   first request of a type with no names, or any request subscribing `*`, is
 *   a wildcard subscription; unsubscribing `*` ends it.
 * - Each response carries only resources whose version differs from what the
 *   client holds, plus `removed_resources` for names the client holds that no
 *   longer exist. A subscribed name that never existed is not mentioned until
 *   it exists. A response with nothing in it is never sent.
 * - `initial_resource_versions` on a type's first request seeds what the
 *   client holds, so a reconnect gets only what changed (and removals).
 * - Unsubscribed names are forgotten without a response.
 * - A request carrying the last nonce sent for its type is an ACK (or a NACK
 *   when `error_detail` is set). A request with any other non-empty nonce is
 *   stale: its subscription changes still apply, but it is not an ACK.
 * - A request past one of the stream's limits (limits.ts) ends the stream and
 *   changes nothing.
 */
export class DeltaStream extends AdsStream<DeltaTypeState> {
  constructor(deps: AdsStreamDeps) {
    super(deps, "delta");
  }

  /** Handles one DeltaDiscoveryRequest from the client. */
  onRequest(request: DeltaDiscoveryRequest): void {
    const typeUrl = this.admit(request);
    if (typeUrl === undefined) return;
    let state = this.types.get(typeUrl);
    const bad = this.checkRequest(request, state === undefined);
    if (bad) return this.endForLimit(bad);
    const seeded = state?.seeded ?? usageOfInitialVersions(request);
    const usage = addUsage(seeded, projectNames(state, request));
    const field = !state && seeded.names > 0 ? "resource_names_subscribe and initial_resource_versions" : "resource_names_subscribe";
    if (!this.withinBudget(typeUrl, field, usage)) return;
    if (!state) {
      state = this.firstRequest(typeUrl, request, seeded);
      this.types.set(typeUrl, state);
    } else if (request.response_nonce !== "") {
      if (request.response_nonce === state.sentNonce) this.recordReply(typeUrl, state, request);
      else this.deps.logger.debug({ stream: this.deps.id, node: this.logNodeId, typeUrl: clip(typeUrl, LOG_FIELD_CHARS), nonce: clip(request.response_nonce, LOG_FIELD_CHARS), current: state.sentNonce }, "stale nonce: applying subscription changes only");
    }
    state.usage = usage;
    const changed = this.applySubscriptionChanges(state, request);
    if (changed || !state.cancel) this.startWatch(typeUrl, state);
  }

  protected typeStatus(typeUrl: string, state: DeltaTypeState): TypeStatus {
    return typeStatusOf(typeUrl, state, { wildcard: state.wildcard, names: state.names });
  }

  private checkRequest(request: DeltaDiscoveryRequest, first: boolean): LimitViolation | undefined {
    return (
      checkNames(this.limits, "resource_names_subscribe", request.resource_names_subscribe) ??
      checkNames(this.limits, "resource_names_unsubscribe", request.resource_names_unsubscribe) ??
      (first ? checkInitialVersions(this.limits, request.initial_resource_versions ?? {}) : undefined)
    );
  }

  private firstRequest(typeUrl: string, request: DeltaDiscoveryRequest, seeded: Usage): DeltaTypeState {
    const wildcard = request.resource_names_subscribe.length === 0 && request.resource_names_unsubscribe.length === 0;
    const known = new Map(Object.entries(request.initial_resource_versions ?? {}));
    if (!isResourceTypeUrl(typeUrl)) this.warnUnknownType(typeUrl, "Delta request for an unknown resource type; none of its resources exist");
    return { wildcard, names: new Set(), known, seeded, usage: seeded, sentVersion: "", sentNonce: "", ackedVersion: "" };
  }

  /** Applies subscribe/unsubscribe; true when the subscription changed. */
  private applySubscriptionChanges(state: DeltaTypeState, request: DeltaDiscoveryRequest): boolean {
    let changed = false;
    for (const name of request.resource_names_subscribe) {
      if (name === "*") {
        changed ||= !state.wildcard;
        state.wildcard = true;
      } else if (!state.names.has(name)) {
        state.names.add(name);
        changed = true;
      }
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === "*") {
        changed ||= state.wildcard;
        state.wildcard = false;
      } else if (state.names.delete(name)) {
        changed = true;
      }
    }
    if (changed) {
      state.held = undefined;
      // Forget what the client holds outside its subscription: it dropped those names.
      for (const name of [...state.known.keys()]) if (!this.covers(state, name)) state.known.delete(name);
    }
    return changed;
  }

  private covers(state: DeltaTypeState, name: string): boolean {
    return state.wildcard || state.names.has(name);
  }

  private startWatch(typeUrl: string, state: DeltaTypeState): void {
    state.cancel?.();
    if (!isResourceTypeUrl(typeUrl)) {
      state.cancel = () => undefined;
      this.deliver(typeUrl, state, { version: "", resources: [] });
      return;
    }
    const subscription: Subscription = state.wildcard ? { wildcard: true } : { wildcard: false, names: new Set(state.names) };
    state.cancel = this.deps.watcher.watch(
      { typeUrl, subscription, nodeId: this.nodeId, node: this.nodeInfo },
      (response) => this.deliver(typeUrl, state, response),
    );
  }

  /** Sends the difference between `response` and what the client holds, if there is any. */
  private deliver(typeUrl: string, state: DeltaTypeState, response: Pick<WatchResponse, "version" | "resources" | "tag" | "all">): void {
    if (this.closed || this.types.get(typeUrl) !== state) return;
    // A named answer holds each subscribed name that exists once: as many as asked for means none is unknown.
    const complete = !state.wildcard && response.resources.length === state.names.size;
    if (state.names.size > 0 && isResourceTypeUrl(typeUrl)) this.noteUnknown(typeUrl, state, complete ? [] : state.names, presentIn(response));
    const { changed, removed } = state.held && response.all ? diffHeld(state.held, response.all) : this.diffKnown(state, response.resources);
    // After this delivery the client holds exactly a wildcard answer's map: the next one can be diffed against it.
    state.held = state.wildcard ? response.all : undefined;
    if (changed.length === 0 && removed.length === 0) return;
    for (const r of changed) state.known.set(r.name, r.version);
    for (const name of removed) state.known.delete(name);
    this.sendResponse(typeUrl, state, response, (nonce) => this.deps.wire.delta({ systemVersion: response.version, typeUrl, nonce, removed }, changed));
  }

  /** What the client lacks of `resources` (by version), and the names it holds in its subscription that they no longer have. */
  private diffKnown(state: DeltaTypeState, resources: readonly Resource[]): { changed: Resource[]; removed: string[] } {
    const changed = resources.filter((r) => state.known.get(r.name) !== r.version);
    const present = new Set(resources.map((r) => r.name));
    const removed = [...state.known.keys()].filter((name) => this.covers(state, name) && !present.has(name)).sort();
    return { changed, removed };
  }

  private recordReply(typeUrl: string, state: DeltaTypeState, request: DeltaDiscoveryRequest): void {
    // Delta requests carry no version: an ACK is for the response with this nonce, and a NACKing client keeps what it last ACKed.
    recordReply(this.replyContext(), typeUrl, state, { nonce: request.response_nonce, detail: request.error_detail, ackedVersion: state.sentVersion, keptVersion: state.ackedVersion });
  }
}

/**
 * The difference between the map a wildcard client holds (exactly: its known
 * versions are that map's) and the new answer's map, at the cost of what
 * changed: the resources to send, and the names to remove, sorted.
 */
function diffHeld(held: SortedMap<Resource>, all: SortedMap<Resource>): { changed: Resource[]; removed: string[] } {
  const changed: Resource[] = [];
  const removed: string[] = [];
  all.diffFrom(held, {
    added: (_name, resource) => changed.push(resource),
    changed: (_name, before, after) => {
      if (before.version !== after.version) changed.push(after);
    },
    removed: (name) => removed.push(name),
  });
  return { changed, removed: removed.sort() };
}

/** Membership in an answer, by name: its whole map when it has one (a wildcard answer), else its resources. */
function presentIn(response: Pick<WatchResponse, "resources" | "all">): (name: string) => boolean {
  const { all } = response;
  if (all) return (name) => all.get(name) !== undefined;
  let names: Set<string> | undefined;
  return (name) => (names ??= new Set(response.resources.map((r) => r.name))).has(name);
}

/** What `initial_resource_versions` takes of the budget: one name per entry, its name's and version's characters. */
function usageOfInitialVersions(request: DeltaDiscoveryRequest): Usage {
  const entries = Object.entries(request.initial_resource_versions ?? {});
  let chars = 0;
  for (const [name, version] of entries) chars += name.length + version.length;
  return { names: entries.length, chars };
}

/**
 * The budget the type's subscribed names would take once `request` is applied
 * (subscribe first, then unsubscribe, as applySubscriptionChanges does),
 * worked out without changing anything.
 */
function projectNames(state: DeltaTypeState | undefined, request: DeltaDiscoveryRequest): Usage {
  const current: ReadonlySet<string> = state?.names ?? new Set();
  // The type's usage is its seeded part plus its names' part: no walk over a large subscription per request.
  let names = state ? state.usage.names - state.seeded.names : 0;
  let chars = state ? state.usage.chars - state.seeded.chars : 0;
  const unsubscribed = new Set(request.resource_names_unsubscribe);
  const added = new Set<string>();
  for (const name of request.resource_names_subscribe) {
    if (name === "*" || current.has(name) || unsubscribed.has(name) || added.has(name)) continue;
    added.add(name);
    names++;
    chars += name.length;
  }
  for (const name of unsubscribed) {
    if (name !== "*" && current.has(name)) {
      names--;
      chars -= name.length;
    }
  }
  return { names, chars };
}
