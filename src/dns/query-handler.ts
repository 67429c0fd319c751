import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RegistryView } from "../registry/index.js";
import { answerQuery, qtypeLabel, type DnsTransport } from "./answer.js";
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
 * query, so an answer is never older than the registry), a debug log line per
 * query, rate-limited warnings for malformed messages, and the query counter.
 */
export function createQueryHandler(deps: QueryHandlerDeps): QueryHandler {
  const warnMalformed = rateLimitedWarn(deps.logger, deps.clock, MALFORMED_WARN_INTERVAL_MS);
  return (query, transport, peer) => {
    try {
      const outcome = answerQuery(query, { zone: deps.zone(), view: deps.view(), transport });
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
