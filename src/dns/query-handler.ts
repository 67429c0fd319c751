import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RegistryView } from "../registry/index.js";
import { answerQuery, qtypeLabel, type DnsTransport, type QueryContext, type QueryOutcome } from "./answer.js";
import type { Zone } from "./zone.js";

/** What a transport does with one message: send `response` if any; close a TCP connection when `malformed`. */
export interface HandledQuery {
  readonly response: Buffer | undefined;
  readonly malformed: boolean;
}

/** Answers one message from `peer`; never throws. */
export type QueryHandler = (query: Buffer, transport: DnsTransport, peer: string) => HandledQuery;

export interface QueryHandlerDeps {
  /** Read per query: the zone's nameserver addresses are only known once the server is bound. */
  readonly zone: () => Zone;
  readonly view: () => RegistryView;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly clock: Clock;
}

/** At most one warning per this many milliseconds about malformed messages; the rest go to debug. */
const MALFORMED_WARN_INTERVAL_MS = 10_000;

/**
 * Wraps the pure `answerQuery` with the registry's current view (read per
 * query, so an answer is never older than the registry), an answer cache, a debug log line per
 * query, rate-limited warnings for malformed messages, and the query counter.
 */
export function createQueryHandler(deps: QueryHandlerDeps): QueryHandler {
  const warnMalformed = rateLimitedWarn(deps.logger, deps.clock, MALFORMED_WARN_INTERVAL_MS);
  const answers = createAnswerCache();
  return (query, transport, peer) => {
    try {
      const context = { zone: deps.zone(), view: deps.view(), transport };
      const outcome = answers.answer(query, context);
      deps.metrics?.dnsQueries.inc({ qtype: qtypeLabel(outcome.qtype), rcode: outcome.rcode });
      const fields = { transport, peer, qname: outcome.qname, qtype: outcome.qtype, rcode: outcome.rcode, truncated: outcome.truncated, bytes: outcome.response?.length };
      if (outcome.malformed !== undefined) warnMalformed({ ...fields, reason: outcome.malformed }, "dns: malformed message");
      else deps.logger.debug({ ...fields, detail: outcome.detail }, "dns query");
      return { response: outcome.response, malformed: outcome.malformed !== undefined };
    } catch (err) {
      // answerQuery never throws; this guards the logging and metrics around it, so a socket handler never throws.
      deps.logger.error({ err, transport, peer }, "dns: internal error handling a query");
      return { response: undefined, malformed: false };
    }
  };
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

/** Distinct queries whose answers are kept per registry revision; past it, the cache starts over. */
const ANSWER_CACHE_ENTRIES = 10_000;

/**
 * `answerQuery` is a pure function of the query bytes, the zone, the registry
 * view and the transport, and the query's id (its first two bytes) only comes
 * back in the answer's first two bytes. So the answer to the same bytes after
 * the id, over the same transport, for the same zone and registry revision,
 * is the kept answer with the new id written in: no decoding and no encoding.
 * The cache starts over whenever the revision or the zone changes, and never
 * keeps malformed queries (those are answered, or dropped, afresh each time).
 */
function createAnswerCache() {
  let revision = -1;
  let zone: QueryContext["zone"] | undefined;
  const kept = new Map<string, QueryOutcome & { readonly response: Buffer }>();
  return {
    answer(query: Buffer, context: QueryContext): QueryOutcome {
      if (context.view.revision !== revision || context.zone !== zone) {
        kept.clear();
        revision = context.view.revision;
        zone = context.zone;
      }
      if (query.length < 2) return answerQuery(query, context);
      const key = `${context.transport}${query.toString("latin1", 2)}`;
      const hit = kept.get(key);
      if (hit) {
        const response = Buffer.from(hit.response);
        response[0] = query[0]!;
        response[1] = query[1]!;
        return { ...hit, response };
      }
      const outcome = answerQuery(query, context);
      if (outcome.malformed === undefined && outcome.response) {
        if (kept.size >= ANSWER_CACHE_ENTRIES) kept.clear();
        kept.set(key, { ...outcome, response: Buffer.from(outcome.response) });
      }
      return outcome;
    },
  };
}
