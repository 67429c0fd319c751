import { isIP } from "node:net";
import { show } from "../errors/index.js";
import { ENDPOINT_TYPE, type LbEndpoint } from "../proto/index.js";
import { decodeResource, equalDecoded, type Decoded } from "./decode.js";
import { messages, num, sub, text, whichOf, wrapped, type Findings, type Message } from "./fields.js";
import type { ResourceType } from "./resource-type.js";

const UINT32_MAX = 0xffff_ffff;

/** What the checks of one ClusterLoadAssignment remember across its locality groups. */
interface Seen {
  /** Locality identity (region, zone, sub_zone, priority) → path of the group that has it. */
  readonly localities: Map<string, string>;
  /** `address port` → path of the lb_endpoint that has it. */
  readonly addresses: Map<string, string>;
  /** Priority → the summed locality weights and the first group at that priority. */
  readonly priorities: Map<number, { weight: number; path: string }>;
}

/** envoy.config.endpoint.v3.ClusterLoadAssignment: a cluster's endpoints, by locality and priority. */
export const endpointResource: ResourceType<typeof ENDPOINT_TYPE> = {
  typeUrl: ENDPOINT_TYPE,
  decode: (codec, body) => decodeResource(codec, ENDPOINT_TYPE, body),
  validate: (_codec, decoded, findings) => validateLoadAssignment(decoded.message as unknown as Message, findings),
  equal: equalDecoded,
  references: () => [],
};

/**
 * Reports what grpc-js-xds (EndpointResourceType.validateResource) NACKs in
 * a ClusterLoadAssignment, and what Envoy's field rules forbid:
 * - every locality group has a `locality` (grpc-js: `locality unset`), no
 *   locality appears twice at one priority, priorities run from 0 without
 *   gaps, and each priority's locality weights add up to at most 2^32-1;
 * - a locality's `load_balancing_weight`, when set, is at least 1 (Envoy);
 * - every lb_endpoint (and each of its additional_addresses, which grpc-js
 *   reads by default) has a socket_address with an IPv4/IPv6 address and a
 *   port_value of 1–65535 (grpc-js: validateAddress; named ports are
 *   refused), and no address:port appears twice in the resource;
 * - an lb_endpoint's `load_balancing_weight`, when set, is at least 1 (Envoy).
 * That cluster_name equals the resource name is the consistency check's job.
 */
export function validateLoadAssignment(assignment: Message, findings: Findings): void {
  const seen: Seen = { localities: new Map(), addresses: new Map(), priorities: new Map() };
  messages(assignment["endpoints"]).forEach((group, i) => checkLocalityGroup(group, `endpoints[${i}]`, seen, findings));
  for (const [priority, { weight, path }] of seen.priorities) {
    if (weight > UINT32_MAX) {
      findings.add(`${path}.load_balancing_weight`, `locality weights at priority ${priority} add up to ${weight}; the sum must be at most ${UINT32_MAX}`);
    }
    if (priority > 0 && !seen.priorities.has(priority - 1)) {
      findings.add(`${path}.priority`, `is ${priority}, but no locality group has priority ${priority - 1}; priorities must run from 0 without gaps`);
    }
  }
}

function checkLocalityGroup(group: Message, path: string, seen: Seen, findings: Findings): void {
  const priority = num(group["priority"]) ?? 0;
  const locality = sub(group, "locality");
  if (!locality) {
    findings.add(`${path}.locality`, "is required; gRPC clients NACK a locality group without one");
  } else {
    const key = JSON.stringify([text(locality["region"]), text(locality["zone"]), text(locality["sub_zone"]), priority]);
    const first = seen.localities.get(key);
    if (first === undefined) seen.localities.set(key, path);
    else findings.add(`${path}.locality`, `has the same region, zone and sub_zone as ${first} at priority ${priority}; each locality may appear once per priority`);
  }
  const weight = wrapped(group, "load_balancing_weight");
  checkWeight(weight, `${path}.load_balancing_weight.value`, findings);
  const total = seen.priorities.get(priority);
  const add = typeof weight === "number" ? weight : 0;
  if (total) total.weight += add;
  else seen.priorities.set(priority, { weight: add, path });
  messages(group["lb_endpoints"]).forEach((lb, j) => checkLbEndpoint(lb, `${path}.lb_endpoints[${j}]`, seen, findings));
}

function checkLbEndpoint(lb: Message, path: string, seen: Seen, findings: Findings): void {
  const endpoint = sub(lb, "endpoint");
  if (!endpoint) {
    findings.add(`${path}.endpoint`, "is required; gRPC clients do not support endpoint_name");
  } else {
    const socketPath = `${path}.endpoint.address.socket_address`;
    checkSocketAddress(sub(sub(endpoint, "address"), "socket_address"), socketPath, path, seen, findings);
    messages(endpoint["additional_addresses"]).forEach((extra, k) => {
      const extraPath = `${path}.endpoint.additional_addresses[${k}].address.socket_address`;
      checkSocketAddress(sub(sub(extra, "address"), "socket_address"), extraPath, extraPath, seen, findings);
    });
  }
  checkWeight(wrapped(lb, "load_balancing_weight"), `${path}.load_balancing_weight.value`, findings);
}

/** `owner` names the lb_endpoint (or additional address) in duplicate messages. */
function checkSocketAddress(socket: Message | undefined, path: string, owner: string, seen: Seen, findings: Findings): void {
  if (!socket) {
    findings.add(path, "is required; gRPC clients need an IP address and port (pipe and envoy_internal_address are not supported)");
    return;
  }
  const address = text(socket["address"]);
  if (isIP(address) === 0) {
    findings.add(`${path}.address`, `must be an IPv4 or IPv6 address (gRPC clients do not resolve names here), got ${show(address)}`);
  }
  const port = socket["port_value"];
  switch (whichOf(socket, ["port_value", "named_port"])) {
    case "named_port":
      findings.add(`${path}.named_port`, "is not supported by gRPC clients; allowed: port_value");
      break;
    case undefined:
      findings.add(`${path}.port_value`, "is required; must be 1-65535");
      break;
    default:
      if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
        findings.add(`${path}.port_value`, `must be 1-65535, got ${show(port)}`);
      }
  }
  // grpc-js compares the address text and port exactly (no normalization), and so do we.
  const key = `${address} ${String(port)}`;
  const first = seen.addresses.get(key);
  if (first === undefined) seen.addresses.set(key, owner);
  else findings.add(path, `${hostPort(address, port)} duplicates ${first}; each address:port may appear once per ClusterLoadAssignment`);
}

/** A UInt32Value weight: unset is fine, otherwise at least 1. */
function checkWeight(weight: unknown, path: string, findings: Findings): void {
  if (weight === undefined) return;
  if (typeof weight !== "number" || weight < 1 || weight > UINT32_MAX) {
    findings.add(path, `must be 1-${UINT32_MAX} when set, got ${show(weight)}`);
  }
}

function hostPort(address: string, port: unknown): string {
  return isIP(address) === 6 ? `[${address}]:${String(port)}` : `${address}:${String(port)}`;
}

/**
 * `host:port` of one lb_endpoint, `[host]:port` for IPv6. A missing address
 * or port reads as its proto3 default ("" and 0), as a client would see it.
 */
export function endpointKey(lbEndpoint: LbEndpoint): string {
  const socket = lbEndpoint.endpoint?.address?.socket_address;
  const host = socket?.address ?? "";
  const port = socket?.port_value ?? 0;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The sorted, unique endpointKey of every lb_endpoint of `assignment`, in any locality or priority. */
export function endpointKeys(assignment: Decoded<typeof ENDPOINT_TYPE>): string[] {
  const keys = assignment.message.endpoints.flatMap((locality) => locality.lb_endpoints.map(endpointKey));
  return [...new Set(keys)].sort();
}
