import { isIP } from "node:net";
import { show } from "../errors/index.js";
import type { Codec } from "../proto/index.js";
import { unpackConnectionManager, validateConnectionManager } from "./connection-manager.js";
import { validateTransportSocket } from "./tls-context.js";
import { anyOf, enumName, messages, num, strings, sub, text, wrapped, type Findings, type Message } from "./fields.js";

/**
 * Reports what grpc-js-xds (ListenerResourceType.validateResource and
 * validateFilterChain) NACKs in a server-side Listener's filter chains:
 * - no two filter_chain_match entries, expanded into every combination of
 *   their repeated fields with CIDR ranges normalized, are equal
 *   (normalizeFilterChainMatch); every prefix is an IP address;
 * - each chain (and default_filter_chain) holds exactly one filter, an
 *   HttpConnectionManager, valid on the server side (see validateConnectionManager);
 * - a transport_socket, when set, holds a DownstreamTlsContext gRPC accepts
 *   (validateTransportSocket).
 */
export function validateFilterChains(codec: Codec, listener: Message, findings: Findings): void {
  const seen = new Map<string, string>();
  messages(listener["filter_chains"]).forEach((chain, i) => {
    const path = `filter_chains[${i}]`;
    const match = sub(chain, "filter_chain_match");
    if (match) checkMatch(match, path, seen, findings.at(`${path}.filter_chain_match`));
    checkFilterChain(codec, chain, findings.at(path));
  });
  const fallback = sub(listener, "default_filter_chain");
  if (fallback) checkFilterChain(codec, fallback, findings.at("default_filter_chain"));
}

function checkFilterChain(codec: Codec, chain: Message, findings: Findings): void {
  const filters = messages(chain["filters"]);
  const only = filters[0];
  if (filters.length !== 1 || !only) {
    findings.add("filters", `must hold exactly one filter, an HttpConnectionManager; got ${filters.length}`);
  } else {
    const any = anyOf(only, "typed_config");
    const at = findings.at("filters[0].typed_config");
    const manager = any ? unpackConnectionManager(codec, any, at) : undefined;
    if (!any) at.add("", "is required; it must hold an HttpConnectionManager");
    if (manager) validateConnectionManager(codec, manager, at, "server");
  }
  const socket = sub(chain, "transport_socket");
  if (socket) validateTransportSocket(codec, socket, "downstream", findings.at("transport_socket"));
}

/** `seen` maps each normalized combination to the path of the chain that has it. */
function checkMatch(match: Message, chainPath: string, seen: Map<string, string>, findings: Findings): void {
  const prefixes = cidrKeys(match, "prefix_ranges", findings);
  const sources = cidrKeys(match, "source_prefix_ranges", findings);
  if (!prefixes || !sources) return;
  const fixed = [num(wrapped(match, "destination_port")) ?? null, enumName(match["source_type"]), text(match["transport_protocol"])];
  const ports = Array.isArray(match["source_ports"]) ? match["source_ports"] : [];
  const combinations = crossProduct([prefixes, sources, ports, strings(match["server_names"]), strings(match["application_protocols"])]);
  for (const combination of combinations) {
    const key = JSON.stringify([...fixed, ...combination]);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, chainPath);
      continue;
    }
    const other = first === chainPath ? "another of its own combinations" : `a combination of ${first}`;
    findings.add("", `repeats ${other}; each combination of match fields may appear once per Listener`);
    return;
  }
}

/** Normalized keys of a repeated CidrRange field, or undefined after reporting an address that is not an IP. */
function cidrKeys(match: Message, field: string, findings: Findings): string[] | undefined {
  const keys: string[] = [];
  let valid = true;
  messages(match[field]).forEach((range, i) => {
    const address = text(range["address_prefix"]);
    const key = normalizeCidr(address, num(wrapped(range, "prefix_len")) ?? 0);
    if (key === undefined) {
      findings.add(`${field}[${i}].address_prefix`, `must be an IPv4 or IPv6 address, got ${show(address)}`);
      valid = false;
    } else {
      keys.push(key);
    }
  });
  return valid ? keys : undefined;
}

/** `family/masked address/length`, as grpc-js-xds's normalizeCidrRange compares ranges (lengths clamped). */
function normalizeCidr(address: string, prefixLength: number): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  const length = Math.min(Math.max(prefixLength, 0), bits);
  const value = family === 4 ? ipv4Value(address) : ipv6Value(address);
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - length)) - 1n);
  return `${family}/${(value & mask).toString(16)}/${length}`;
}

/** `address` is a valid IPv4 address. */
function ipv4Value(address: string): bigint {
  return address.split(".").reduce((sum, part) => (sum << 8n) + BigInt(Number(part)), 0n);
}

/** `address` is a valid IPv6 address, possibly with `::` and a trailing dotted quad. */
function ipv6Value(address: string): bigint {
  const zone = address.indexOf("%");
  let rest = zone >= 0 ? address.slice(0, zone) : address;
  const lastColon = rest.lastIndexOf(":");
  if (rest.includes(".", lastColon)) {
    const quad = ipv4Value(rest.slice(lastColon + 1));
    rest = `${rest.slice(0, lastColon + 1)}${(quad >> 16n).toString(16)}:${(quad & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = rest.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((sum, group) => (sum << 16n) + BigInt(`0x${group}`), 0n);
}

/** Every combination of one item from each group; an empty group contributes null (grpc-js-xds crossProduct). */
function crossProduct(groups: readonly (readonly unknown[])[]): unknown[][] {
  return groups.reduce<unknown[][]>(
    (combinations, group) => combinations.flatMap((combination) => (group.length === 0 ? [null] : group).map((item) => [...combination, item])),
    [[]],
  );
}
