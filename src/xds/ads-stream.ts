import { clip, LOG_FIELD_CHARS, type LimitedLog, type Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { isResourceTypeUrl, shortTypeName, type Node } from "../proto/index.js";
import type { ClientStatus, TypeStatus } from "./client-status.js";
import { addUsage, checkBudget, checkHeader, checkNewType, metricTypeLabel, XDS_LIMITS, type LimitViolation, type Usage, type XdsLimits } from "./limits.js";
import { clientStatusOf, nodeInfoOf, type ClientReply, type ReplyContext, type ReplyState } from "./reply-book.js";
import { StreamStatus, type StreamTransport } from "./transport.js";
import type { NodeInfo, ResourceWatcher } from "./watcher.js";
import type { ResponseWire } from "./wire.js";

export interface AdsStreamDeps {
  readonly id: string;
  readonly watcher: ResourceWatcher;
  readonly transport: StreamTransport;
  /** Encodes responses from parts shared by every stream. */
  readonly wire: ResponseWire;
  readonly logger: Logger;
  /** Warn lines a client can make the server repeat (NACKs, unknown types, bad requests), rate-limited per client and kind. */
  readonly warn: LimitedLog;
  readonly metrics?: Metrics;
  readonly now: () => number;
  /** What a request may ask of the stream; XDS_LIMITS unless a test says otherwise. */
  readonly limits?: XdsLimits;
  /** Sees every ACK and NACK, with the tag of the response answered. */
  readonly onReply?: (reply: ClientReply) => void;
}

/** Per-type state every protocol keeps: the reply book plus the watch feeding it. */
export interface AdsTypeState extends ReplyState {
  cancel?: () => void;
  /** What the type's subscription takes of the stream's budget (XdsLimits.maxSubscribedNames and …Chars). */
  usage: Usage;
  /** Subscribed names the last answer of the watch did not have (they do not exist in the snapshot served), sorted. */
  unknown?: readonly string[];
}

/** The most unknown names a stream remembers having reported (beyond them, new ones are still counted and logged). */
const REPORTED_NAMES_KEPT = 1024;

/**
 * What SotW and Delta streams share: the client's node (taken from the first
 * request that carries one), one nonce counter per stream, per-type state,
 * the limits every request is checked against, sending a response and
 * recording it as sent, ending the stream on a request it cannot use, and the
 * status `GET /v1/clients` shows. The subclasses hold only their protocol's
 * subscription rules.
 */
export abstract class AdsStream<State extends AdsTypeState> {
  protected readonly types = new Map<string, State>();
  protected readonly limits: XdsLimits;
  protected closed = false;
  private node: Node | undefined;
  private info: NodeInfo = nodeInfoOf(undefined);
  /** The node id as log lines show it: clipped, since a client chooses it. */
  private logId = "";
  private nonceSeq = 0;
  private readonly connectedAt: number;
  /** `type\0name` of each unknown name already logged and counted: once per stream, not per response. */
  private readonly reported = new Set<string>();

  constructor(
    protected readonly deps: AdsStreamDeps,
    private readonly protocol: "sotw" | "delta",
  ) {
    this.connectedAt = deps.now();
    this.limits = deps.limits ?? XDS_LIMITS;
  }

  get nodeId(): string {
    return this.info.id;
  }

  /** The node id for log lines. */
  get logNodeId(): string {
    return this.logId;
  }

  /** The client as the node of its first request described it. */
  get nodeInfo(): NodeInfo {
    return this.info;
  }

  /** Stops every watch; called when the transport closes. */
  close(): void {
    this.closed = true;
    for (const state of this.types.values()) state.cancel?.();
  }

  status(): ClientStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, state] of this.types) types[shortTypeName(typeUrl)] = this.typeStatus(typeUrl, state);
    return clientStatusOf({ id: this.deps.id, node: this.node, peer: this.deps.transport.peer, connectedAt: this.connectedAt, protocol: this.protocol }, types);
  }

  protected abstract typeStatus(typeUrl: string, state: State): TypeStatus;

  /** Whether this client has a response not yet ACKed (in flight or NACKed), and whether its last response of some type was NACKed. */
  replyState(): { readonly behind: boolean; readonly nacking: boolean } {
    let behind = false;
    let nacking = false;
    for (const state of this.types.values()) {
      if (state.sentNonce === "") continue;
      if (state.lastNack?.nonce === state.sentNonce) nacking = true;
      if (state.ackedVersion !== state.sentVersion || state.lastNack?.nonce === state.sentNonce) behind = true;
    }
    return { behind, nacking };
  }

  /**
   * Records which of `names` (a named subscription) the watch's answer does
   * not have: `has` tells whether the served snapshot holds a name. A name
   * not reported before on this stream is logged (rate-limited per client)
   * and counted once; the status shows the type's current list.
   */
  protected noteUnknown(typeUrl: string, state: State, names: Iterable<string>, has: (name: string) => boolean): void {
    const unknown: string[] = [];
    for (const name of names) if (!has(name)) unknown.push(name);
    unknown.sort();
    if (unknown.length === 0) {
      if (state.unknown) delete state.unknown;
      return;
    }
    state.unknown = unknown;
    const type = metricTypeLabel(typeUrl);
    const fresh = unknown.filter((name) => !this.reported.has(`${type}\0${name}`));
    if (fresh.length === 0) return;
    for (const name of fresh) if (this.reported.size < REPORTED_NAMES_KEPT) this.reported.add(`${type}\0${name}`);
    this.deps.metrics?.xdsUnknownNames.inc({ type }, fresh.length);
    const shown = fresh.slice(0, 10).map((name) => clip(name, LOG_FIELD_CHARS));
    this.deps.warn.warn(this.nodeId, "unknown-resource-name", { stream: this.deps.id, node: this.logId, type, names: shown, count: fresh.length }, "client subscribed to resource names that do not exist; see steadymesh status");
  }

  /**
   * The first step of every request: takes the node if none is known yet and
   * returns the request's type URL, or undefined when the request is not to
   * be handled: the stream is closed, or has just been ended because the
   * request has no type URL, a header field over its limit, or a type URL
   * the server does not serve past the stream's count of those.
   */
  protected admit(request: { readonly type_url: string; readonly response_nonce: string; readonly version_info?: string; readonly node?: Node | undefined }): string | undefined {
    if (this.closed) return undefined;
    if (!this.node && request.node) {
      this.node = request.node;
      this.info = nodeInfoOf(request.node);
      this.logId = clip(this.info.id, LOG_FIELD_CHARS);
    }
    if (!request.type_url) {
      this.reject("missing-type-url", StreamStatus.INVALID_ARGUMENT, `type_url is required on every ${this.label} request`);
      return undefined;
    }
    const violation = checkHeader(this.limits, request) ?? (this.types.has(request.type_url) ? undefined : checkNewType(this.limits, request.type_url, this.unknownTypes()));
    if (violation) {
      this.endForLimit(violation);
      return undefined;
    }
    return request.type_url;
  }

  /**
   * True when the stream may hold `usage` for `typeUrl` in place of what that
   * type holds now; otherwise ends the stream, naming `field`.
   */
  protected withinBudget(typeUrl: string, field: string, usage: Usage): boolean {
    let total = usage;
    for (const [url, state] of this.types) if (url !== typeUrl) total = addUsage(total, state.usage);
    const violation = checkBudget(this.limits, field, total);
    if (violation) this.endForLimit(violation);
    return violation === undefined;
  }

  /** Ends the stream for a request past one of the limits. */
  protected endForLimit(violation: LimitViolation): void {
    this.deps.metrics?.xdsStreamsLimited.inc({ limit: violation.limit });
    this.reject("over-limit", violation.code, violation.message);
  }

  /** Logs (rate-limited) a request for a type the server does not serve. */
  protected warnUnknownType(typeUrl: string, message: string): void {
    this.deps.metrics?.xdsBadRequests.inc({ reason: "unknown-type-url" });
    this.deps.warn.warn(this.nodeId, "unknown-type-url", { stream: this.deps.id, node: this.logId, typeUrl: clip(typeUrl, LOG_FIELD_CHARS) }, message);
  }

  /**
   * Sends the response `encode` makes with a fresh nonce as the next one of
   * `typeUrl`, and records it as sent; nothing when the stream is closed or
   * `state` is no longer the type's state (a watch that fired after it was
   * replaced).
   */
  protected sendResponse(typeUrl: string, state: State, sent: { readonly version: string; readonly tag?: number | undefined }, encode: (nonce: string) => Uint8Array): void {
    if (this.closed || this.types.get(typeUrl) !== state) return;
    const nonce = String(++this.nonceSeq);
    state.sentVersion = sent.version;
    state.sentNonce = nonce;
    state.sentTag = sent.tag;
    this.deps.transport.send(encode(nonce));
    this.deps.metrics?.xdsPushes.inc({ type: metricTypeLabel(typeUrl) });
  }

  protected replyContext(): ReplyContext {
    const { id, warn, logger, metrics, now, onReply } = this.deps;
    return { streamId: id, node: this.info, logNodeId: this.logId, warn, logger, metrics, now, onReply, maxErrorDetailChars: this.limits.maxErrorDetailChars };
  }

  private unknownTypes(): number {
    let count = 0;
    for (const typeUrl of this.types.keys()) if (!isResourceTypeUrl(typeUrl)) count++;
    return count;
  }

  private get label(): string {
    return this.protocol === "delta" ? "Delta ADS" : "ADS";
  }

  private reject(reason: string, code: number, details: string): void {
    this.deps.metrics?.xdsBadRequests.inc({ reason });
    this.deps.warn.warn(this.nodeId, "stream-ended", { stream: this.deps.id, node: this.logId, reason }, `ending ${this.label} stream: ${details}`);
    this.close();
    this.deps.transport.end(code, details);
  }
}
