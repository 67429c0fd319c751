import { isResourceTypeUrl, shortTypeName } from "../proto/index.js";
import { StreamStatus } from "./transport.js";

/**
 * Every cap the xDS server puts on what one ADS stream may send, in one
 * place (README, "xDS", lists them and what happens past each). They bound
 * the memory a stream can hold and the size of what it makes the server log
 * or show; each is far above what a real client sends (Envoy subscribing
 * thousands of EDS names, xdstp:// names with context parameters).
 */
export interface XdsLimits {
  /** One request message, in bytes; past it grpc-js ends the stream with RESOURCE_EXHAUSTED. */
  readonly maxRequestBytes: number;
  /** `type_url`, in characters. */
  readonly maxTypeUrlChars: number;
  /** `version_info`, `response_nonce` and each `initial_resource_versions` version, in characters. */
  readonly maxVersionChars: number;
  /** Each resource name a request carries, in characters. */
  readonly maxResourceNameChars: number;
  /** Resource names one stream subscribes, all types together (Delta: with its `initial_resource_versions` entries); also the most one request may list. */
  readonly maxSubscribedNames: number;
  /** The characters of those names together. */
  readonly maxSubscribedNameChars: number;
  /** Distinct type URLs the server does not serve that one stream may ask for. */
  readonly maxUnknownTypes: number;
  /** A NACK's `error_detail.message` is kept (and shown, and logged) cut to this many characters, with a marker. */
  readonly maxErrorDetailChars: number;
}

export const XDS_LIMITS: XdsLimits = Object.freeze({
  maxRequestBytes: 4 * 1024 * 1024,
  maxTypeUrlChars: 1024,
  maxVersionChars: 1024,
  maxResourceNameChars: 2048,
  maxSubscribedNames: 100_000,
  maxSubscribedNameChars: 16 * 1024 * 1024,
  maxUnknownTypes: 16,
  maxErrorDetailChars: 4096,
});

/** A request past a limit: the stream is ended with `code` and `message`; `limit` labels the metric. */
export interface LimitViolation {
  readonly limit: keyof XdsLimits;
  readonly code: number;
  readonly message: string;
}

/** How much of the subscription budget a type's state takes. */
export interface Usage {
  readonly names: number;
  readonly chars: number;
}

export const NO_USAGE: Usage = Object.freeze({ names: 0, chars: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  return { names: a.names + b.names, chars: a.chars + b.chars };
}

export function usageOfNames(names: Iterable<string>): Usage {
  let count = 0;
  let chars = 0;
  for (const name of names) {
    count++;
    chars += name.length;
  }
  return { names: count, chars };
}

/** The header fields every request has: `type_url`, `response_nonce` and (SotW) `version_info`. */
export function checkHeader(limits: XdsLimits, request: { readonly type_url: string; readonly response_nonce: string; readonly version_info?: string }): LimitViolation | undefined {
  if (request.type_url.length > limits.maxTypeUrlChars) return tooLong("maxTypeUrlChars", "type_url", request.type_url.length, limits.maxTypeUrlChars);
  if (request.response_nonce.length > limits.maxVersionChars) return tooLong("maxVersionChars", "response_nonce", request.response_nonce.length, limits.maxVersionChars);
  const version = request.version_info ?? "";
  if (version.length > limits.maxVersionChars) return tooLong("maxVersionChars", "version_info", version.length, limits.maxVersionChars);
  return undefined;
}

/** A list of resource names as one request carries it, under `field`: how many, and how long each is. */
export function checkNames(limits: XdsLimits, field: string, names: readonly string[]): LimitViolation | undefined {
  if (names.length > limits.maxSubscribedNames) {
    return { limit: "maxSubscribedNames", code: StreamStatus.RESOURCE_EXHAUSTED, message: `${field}: at most ${limits.maxSubscribedNames} resource names per request, got ${names.length}` };
  }
  for (let i = 0; i < names.length; i++) {
    const length = names[i]!.length;
    if (length > limits.maxResourceNameChars) return tooLong("maxResourceNameChars", `${field}[${i}]`, length, limits.maxResourceNameChars);
  }
  return undefined;
}

/** Delta's `initial_resource_versions`: names as in checkNames, versions as version_info. */
export function checkInitialVersions(limits: XdsLimits, versions: Readonly<Record<string, string>>): LimitViolation | undefined {
  const names = Object.keys(versions);
  const bad = checkNames(limits, "initial_resource_versions", names);
  if (bad) return bad;
  for (const name of names) {
    const length = versions[name]!.length;
    if (length > limits.maxVersionChars) return tooLong("maxVersionChars", `initial_resource_versions[${JSON.stringify(name)}]`, length, limits.maxVersionChars);
  }
  return undefined;
}

/** The stream's whole subscription budget, were `field`'s request applied and the stream to hold `total`. */
export function checkBudget(limits: XdsLimits, field: string, total: Usage): LimitViolation | undefined {
  if (total.names > limits.maxSubscribedNames) {
    return { limit: "maxSubscribedNames", code: StreamStatus.RESOURCE_EXHAUSTED, message: `${field}: this stream would subscribe ${total.names} resource names (all types together); at most ${limits.maxSubscribedNames}` };
  }
  if (total.chars > limits.maxSubscribedNameChars) {
    return { limit: "maxSubscribedNameChars", code: StreamStatus.RESOURCE_EXHAUSTED, message: `${field}: this stream's subscribed resource names would hold ${total.chars} characters (all types together); at most ${limits.maxSubscribedNameChars}` };
  }
  return undefined;
}

/** A type URL the stream has not asked for before, when it already asked for `unknownTypes` types the server does not serve. */
export function checkNewType(limits: XdsLimits, typeUrl: string, unknownTypes: number): LimitViolation | undefined {
  if (isResourceTypeUrl(typeUrl) || unknownTypes < limits.maxUnknownTypes) return undefined;
  return { limit: "maxUnknownTypes", code: StreamStatus.RESOURCE_EXHAUSTED, message: `type_url: at most ${limits.maxUnknownTypes} distinct type URLs this server does not serve per stream; this request would make ${unknownTypes + 1}` };
}

/** The label a type gets in metrics: its short name, or `other` (a client chooses unknown type URLs, and each label value is kept forever). */
export function metricTypeLabel(typeUrl: string): string {
  return isResourceTypeUrl(typeUrl) ? shortTypeName(typeUrl) : "other";
}

function tooLong(limit: keyof XdsLimits, field: string, length: number, max: number): LimitViolation {
  return { limit, code: StreamStatus.INVALID_ARGUMENT, message: `${field}: must be at most ${max} characters, got ${length}` };
}
