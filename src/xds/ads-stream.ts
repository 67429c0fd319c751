import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { shortTypeName, type Node } from "../proto/index.js";
import type { ClientStatus, TypeStatus } from "./client-status.js";
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
  readonly metrics?: Metrics;
  readonly now: () => number;
  /** Sees every ACK and NACK (the push guard's canary watches these). */
  readonly onReply?: (reply: ClientReply) => void;
}

/** Per-type state every protocol keeps: the reply book plus the watch feeding it. */
export interface AdsTypeState extends ReplyState {
  cancel?: () => void;
}

/**
 * What SotW and Delta streams share: the client's node (taken from the first
 * request that carries one), one nonce counter per stream, per-type state,
 * sending a response and recording it as sent, ending the stream on a
 * request it cannot use, and the status `GET /v1/clients` shows. The
 * subclasses hold only their protocol's subscription rules.
 */
export abstract class AdsStream<State extends AdsTypeState> {
  protected readonly types = new Map<string, State>();
  protected closed = false;
  private node: Node | undefined;
  private info: NodeInfo = nodeInfoOf(undefined);
  private nonceSeq = 0;
  private readonly connectedAt: number;

  constructor(
    protected readonly deps: AdsStreamDeps,
    private readonly protocol: "sotw" | "delta",
  ) {
    this.connectedAt = deps.now();
  }

  get nodeId(): string {
    return this.info.id;
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

  /**
   * The first step of every request: takes the node if none is known yet and
   * returns the request's type URL, or undefined when the request is not to
   * be handled (the stream is closed, or has just been ended because the
   * request has no type URL).
   */
  protected admit(request: { readonly type_url: string; readonly node?: Node | undefined }): string | undefined {
    if (this.closed) return undefined;
    if (!this.node && request.node) {
      this.node = request.node;
      this.info = nodeInfoOf(request.node);
    }
    if (!request.type_url) {
      this.reject("missing-type-url", `type_url is required on every ${this.label} request`);
      return undefined;
    }
    return request.type_url;
  }

  /**
   * Sends the response `encode` makes with a fresh nonce as the next one of
   * `typeUrl`, and records it as sent; nothing when the stream is closed or
   * `state` is no longer the type's state (a watch that fired after it was
   * replaced).
   */
  protected sendResponse(typeUrl: string, state: State, sent: { readonly version: string; readonly generation?: number | undefined }, encode: (nonce: string) => Uint8Array): void {
    if (this.closed || this.types.get(typeUrl) !== state) return;
    const nonce = String(++this.nonceSeq);
    state.sentVersion = sent.version;
    state.sentNonce = nonce;
    state.sentGeneration = sent.generation;
    this.deps.transport.send(encode(nonce));
    this.deps.metrics?.xdsPushes.inc({ type: shortTypeName(typeUrl) });
  }

  protected replyContext(): ReplyContext {
    const { id, logger, metrics, now, onReply } = this.deps;
    return { streamId: id, node: this.info, logger, metrics, now, onReply };
  }

  private get label(): string {
    return this.protocol === "delta" ? "Delta ADS" : "ADS";
  }

  private reject(reason: string, details: string): void {
    this.deps.metrics?.xdsBadRequests.inc({ reason });
    this.deps.logger.warn({ stream: this.deps.id, node: this.nodeId, reason }, `ending ${this.label} stream: ${details}`);
    this.close();
    this.deps.transport.end(StreamStatus.INVALID_ARGUMENT, details);
  }
}
