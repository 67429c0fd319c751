import { clip, LOG_DETAIL_CHARS, LOG_FIELD_CHARS, type LimitedLog, type Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Node, Status } from "../proto/index.js";
import { STATUS_NAMES_SHOWN, type ClientStatus, type NackStatus, type TypeStatus } from "./client-status.js";
import { metricTypeLabel } from "./limits.js";
import type { NodeInfo } from "./watcher.js";

/**
 * The ACK/NACK bookkeeping SotW and Delta streams share: what was sent per
 * type, what the client ACKed, its last NACK, and the watcher's tag of each.
 */
export interface ReplyState {
  sentVersion: string;
  sentNonce: string;
  ackedVersion: string;
  ackedAt?: number;
  sentTag?: number | undefined;
  ackedTag?: number;
  lastNack?: NackStatus;
}

/** A client's answer to a response: an ACK, or a NACK with its error_detail. */
export interface ClientReply {
  readonly streamId: string;
  readonly node: NodeInfo;
  readonly typeUrl: string;
  /** The tag of the response answered, when the watcher tagged it. */
  readonly tag?: number;
  readonly nack?: { readonly code: number; readonly message: string };
  /** True for the first tagged ACK of this type on this stream: the client's initial load, not a push it was waiting for. */
  readonly initial?: boolean;
}

/** Who is answering, and where the bookkeeping reports. */
export interface ReplyContext {
  readonly streamId: string;
  readonly node: NodeInfo;
  /** The node id clipped for log lines. */
  readonly logNodeId: string;
  /** NACK warnings go through this: a client NACKing in a loop must not flood the log. */
  readonly warn: LimitedLog;
  readonly logger: Logger;
  /** A NACK's error_detail message is kept cut to this (XdsLimits.maxErrorDetailChars). */
  readonly maxErrorDetailChars: number;
  readonly metrics?: Metrics | undefined;
  readonly now: () => number;
  readonly onReply?: ((reply: ClientReply) => void) | undefined;
}

/** The client as a stream's first request described it ({} metadata when absent). */
export function nodeInfoOf(node: Node | undefined): NodeInfo {
  return { id: node?.id ?? "", cluster: node?.cluster ?? "", metadata: node?.metadata ?? {} };
}

/**
 * Records the reply to the last response of `typeUrl` (the caller has checked
 * the nonce): a NACK when `detail` carries a code or message, else an ACK of
 * `ackedVersion`. `keptVersion` is the version a NACKing client keeps. Counts
 * it, logs it (every NACK with node, type URL, nonce and detail, rate-limited
 * per client) and reports it to `onReply` with the tag of the response
 * answered; the client status and the log call it `generation`, their field
 * name. The detail's message is kept cut to `ctx.maxErrorDetailChars`.
 */
export function recordReply(ctx: ReplyContext, typeUrl: string, state: ReplyState, reply: { nonce: string; detail?: Status | undefined; ackedVersion: string; keptVersion: string }): void {
  const type = metricTypeLabel(typeUrl);
  const tag = state.sentTag;
  const detail = reply.detail;
  if (detail && (detail.code !== 0 || detail.message !== "")) {
    const errorDetail = { code: detail.code, message: clip(detail.message, ctx.maxErrorDetailChars) };
    state.lastNack = { at: new Date(ctx.now()).toISOString(), nonce: reply.nonce, version: reply.keptVersion, errorDetail, ...(tag !== undefined && { generation: tag }) };
    ctx.metrics?.xdsNacks.inc({ type });
    const fields = { stream: ctx.streamId, node: ctx.logNodeId, typeUrl: clip(typeUrl, LOG_FIELD_CHARS), nonce: reply.nonce, keptVersion: clip(reply.keptVersion, LOG_FIELD_CHARS), generation: tag, errorDetail: clip(detail.message, LOG_DETAIL_CHARS), code: detail.code };
    ctx.warn.warn(ctx.node.id, "nack", fields, "client NACKed a response");
    ctx.onReply?.({ streamId: ctx.streamId, node: ctx.node, typeUrl, ...(tag !== undefined && { tag }), nack: errorDetail });
    return;
  }
  state.ackedVersion = reply.ackedVersion;
  state.ackedAt = ctx.now();
  const initial = tag !== undefined && state.ackedTag === undefined;
  if (tag !== undefined) state.ackedTag = tag;
  ctx.metrics?.xdsAcks.inc({ type });
  ctx.onReply?.({ streamId: ctx.streamId, node: ctx.node, typeUrl, ...(tag !== undefined && { tag }), ...(initial && { initial }) });
  ctx.logger.debug({ stream: ctx.streamId, node: ctx.logNodeId, type, version: clip(reply.ackedVersion, LOG_FIELD_CHARS), nonce: reply.nonce }, "ACK");
}

/**
 * One type's status for `GET /v1/clients`: `subscribed` lists `*` first for
 * a wildcard, then the smallest STATUS_NAMES_SHOWN names in order;
 * `subscribedCount` counts them all.
 */
export function typeStatusOf(typeUrl: string, state: ReplyState & { readonly unknown?: readonly string[] }, subscription: { readonly wildcard: boolean; readonly names: ReadonlySet<string> }): TypeStatus {
  const star = subscription.wildcard ? ["*"] : [];
  const { unknown } = state;
  return {
    typeUrl,
    subscribed: [...star, ...smallest(subscription.names, STATUS_NAMES_SHOWN - star.length)],
    subscribedCount: star.length + subscription.names.size,
    sentVersion: state.sentVersion,
    sentNonce: state.sentNonce,
    ackedVersion: state.ackedVersion,
    ...(state.ackedAt !== undefined && { ackedAt: new Date(state.ackedAt).toISOString() }),
    // The admin API calls the tag a generation (its contract): the push guard tags answers with its generation ids.
    ...(state.sentTag !== undefined && { sentGeneration: state.sentTag }),
    ...(state.ackedTag !== undefined && { ackedGeneration: state.ackedTag }),
    ...(state.lastNack && { lastNack: state.lastNack }),
    ...(unknown && unknown.length > 0 && { unknown: unknown.slice(0, STATUS_NAMES_SHOWN), unknownCount: unknown.length }),
  };
}

/** A stream's ClientStatus from its node, its per-type status (keyed by short type name) and where it came from. */
export function clientStatusOf(stream: { id: string; node: Node | undefined; peer: string; connectedAt: number; protocol: "sotw" | "delta" }, types: Record<string, TypeStatus>): ClientStatus {
  const { node } = stream;
  return {
    streamId: stream.id,
    nodeId: node?.id ?? "",
    cluster: node?.cluster ?? "",
    metadata: node?.metadata ?? {},
    userAgent: [node?.user_agent_name, node?.user_agent_version].filter(Boolean).join(" "),
    peer: stream.peer,
    connectedAt: new Date(stream.connectedAt).toISOString(),
    protocol: stream.protocol,
    types,
  };
}

/** The `n` smallest of `names`, in order; one pass, so a large subscription costs no sort. */
function smallest(names: Iterable<string>, n: number): string[] {
  const kept: string[] = [];
  for (const name of names) {
    if (kept.length === n && !(name < kept[n - 1]!)) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kept[mid]! < name) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, name);
    if (kept.length > n) kept.pop();
  }
  return kept;
}
