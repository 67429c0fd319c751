import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RegistryView } from "../registry/index.js";
import { createAnswerCache, type AnswerCacheUsage } from "./answer-cache.js";
import { prepareAnswer, qtypeLabel, respond, responseLimit, type DnsTransport, type PreparedAnswer, type QueryOutcome } from "./answer.js";
import { plainQuery } from "./query-wire.js";
import type { RateLimiter } from "./rate-limit.js";
import type { Zone } from "./zone.js";

/** What a transport does with one message: send `response` if any; close a TCP connection when `malformed`. */
export interface HandledQuery {
  readonly response: Buffer | undefined;
  readonly malformed: boolean;
}

/** Who sent a message. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** Answers one message from `peer`; never throws. */
export type QueryHandler = (query: Buffer, transport: DnsTransport, peer: Peer) => HandledQuery;

export interface QueryHandlerDeps {
  /** Read per query: the zone's nameserver addresses are only known once the server is bound. */
  readonly zone: () => Zone;
  readonly view: () => RegistryView;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly clock: Clock;
  /** The answer cache's byte budget (see createAnswerCache). */
  readonly cacheBytes: number;
  /** Read per query: UDP response rate limiting, when on (the server decides once it knows its address). */
  readonly rateLimiter?: () => RateLimiter | undefined;
}

/** A query handler, and how full its answer cache is. */
export interface QueryHandling {
  readonly handle: QueryHandler;
  readonly cacheUsage: () => AnswerCacheUsage;
}

/** At most one warning per this many milliseconds about malformed messages, and about rate limiting; the rest go to debug. */
const WARN_INTERVAL_MS = 10_000;

/**
 * Wraps `prepareAnswer` with the registry's current view (read per query, so
 * an answer is never older than the registry), the answer cache, answer
 * rotation, UDP rate limiting, a debug log line per query, rate-limited
 * warnings, and the query counter.
 *
 * The cache: a prepared answer depends only on the zone, the registry view,
 * the transport and the parts of a plain query that `plainQuery` puts in its
 * key. So for the same key, transport, zone and registry revision the kept
 * answer is fitted again with the new id, size limit and rotation: no
 * decoding and no encoding. Queries that are not plain, and malformed
 * messages, are answered afresh each time and never kept.
 */
export function createQueryHandler(deps: QueryHandlerDeps): QueryHandling {
  const warnMalformed = rateLimitedWarn(deps.logger, deps.clock, WARN_INTERVAL_MS);
  const warnRateLimited = rateLimitedWarn(deps.logger, deps.clock, WARN_INTERVAL_MS);
  const cache = createAnswerCache(deps.cacheBytes);
  // Rotation for answers that are not kept; kept answers rotate on their own counter.
  let rotation = 0;
  // What kept answers were made from; a new object whenever the registry revision or the zone changes.
  let generation: { readonly revision: number; readonly zone: Zone | undefined } = { revision: -1, zone: undefined };

  const answer = (query: Buffer, transport: DnsTransport, slip: boolean): QueryOutcome => {
    const zone = deps.zone();
    const view = deps.view();
    if (generation.revision !== view.revision || generation.zone !== zone) generation = { revision: view.revision, zone };
    const plain = plainQuery(query);
    const key = plain && `${transport}${plain.key}`;
    const id = query.length >= 2 ? query.readUInt16BE(0) : 0;
    const hit = key === undefined ? undefined : cache.get(key, generation);
    if (hit) return respond(hit.answer, { id, limit: responseLimit(transport, plain!.udpPayloadSize), rotation: hit.rotation++, transport, slip });
    const { udpPayloadSize, ...prepared } = prepareAnswer(query, { zone, view, transport });
    const kept = key !== undefined && keepable(prepared) ? cache.set(key, generation, prepared) : undefined;
    const turn = kept ? kept.rotation++ : rotation++;
    return respond(prepared, { id, limit: responseLimit(transport, udpPayloadSize), rotation: turn, transport, slip });
  };

  const debug = deps.logger.isLevelEnabled("debug");
  const handle: QueryHandler = (query, transport, peer) => {
    try {
      const decision = transport === "udp" ? (deps.rateLimiter?.()?.decide(peer.address) ?? "send") : "send";
      if (decision === "drop") {
        deps.metrics?.dnsQueries.inc({ qtype: "NONE", rcode: "DROPPED" });
        warnRateLimited({ peer: `${peer.address}:${peer.port}` }, "dns: UDP responses over the rate limit for this source prefix are dropped");
        return { response: undefined, malformed: false };
      }
      const outcome = answer(query, transport, decision === "slip");
      deps.metrics?.dnsQueries.inc({ qtype: qtypeLabel(outcome.qtype), rcode: outcome.rcode });
      if (outcome.malformed !== undefined) warnMalformed({ ...logFields(outcome, transport, peer), reason: outcome.malformed }, "dns: malformed message");
      // Checked first: building the fields of a line nobody reads costs more than answering from the cache.
      else if (debug) deps.logger.debug({ ...logFields(outcome, transport, peer), detail: outcome.detail, slipped: decision === "slip" }, "dns query");
      return { response: outcome.response, malformed: outcome.malformed !== undefined };
    } catch (err) {
      // prepareAnswer never throws; this guards the cache, logging and metrics around it, so a socket handler never throws.
      deps.logger.error({ err, transport, peer: `${peer.address}:${peer.port}` }, "dns: internal error handling a query");
      return { response: undefined, malformed: false };
    }
  };
  return { handle, cacheUsage: () => cache.usage() };
}

function logFields(outcome: QueryOutcome, transport: DnsTransport, peer: Peer): Record<string, unknown> {
  const { qname, qtype, rcode, truncated } = outcome;
  return { transport, peer: `${peer.address}:${peer.port}`, qname, qtype, rcode, truncated, bytes: outcome.response?.length };
}

/** Malformed messages are answered afresh each time; an internal error's SERVFAIL is not kept either. */
function keepable(answer: PreparedAnswer): boolean {
  return answer.malformed === undefined && answer.reply !== undefined && answer.rcode !== "SERVFAIL";
}

type WarnFields = Record<string, unknown>;

/** A flood of bad packets must not flood the log: one warning per interval, counting what it held back. */
function rateLimitedWarn(logger: Logger, clock: Clock, intervalMs: number): (fields: WarnFields, message: string) => void {
  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields, message) => {
    const now = clock.now();
    if (now - lastWarnAt >= intervalMs) {
      logger.warn({ ...fields, suppressedSinceLastWarning: suppressed }, message);
      lastWarnAt = now;
      suppressed = 0;
    } else {
      suppressed += 1;
      logger.debug(fields, message);
    }
  };
}
