/**
 * The DNS view of the registry: A/AAAA for `<service>.service.<domain>.`,
 * SRV for `_<service>._tcp.service.<domain>.`, and for a subset of a
 * service's policy `<subset>.<service>.service.<domain>.` and
 * `_<subset>._tcp.<service>.service.<domain>.` (see zone.ts), over UDP and TCP on one port.
 * All wire encoding is dns-packet's.
 */
export { createDnsServer, DNS_DEFAULTS, type DnsServer, type DnsServerOptions } from "./dns-server.js";
export { answerQuery, type QueryContext, type QueryOutcome, type DnsTransport, type ResponseCode } from "./answer.js";
export { createZone, serviceNames, type ServiceName, type Zone } from "./zone.js";
export { RATE_LIMIT_DEFAULTS, type RateLimitOptions } from "./rate-limit.js";
export type { AnswerCacheUsage } from "./answer-cache.js";
