import type { Answer, SoaAnswer } from "dns-packet";
import { SteadyError } from "../errors/index.js";
import { inSubset, type Instance, type RegistryView, type ServiceEntry, type Subset } from "../registry/index.js";

/**
 * The one zone steadymesh is authoritative for, `<domain>.`, and what lives
 * in it:
 *
 *   <domain>.                                 SOA, NS (ns.<domain>.)
 *   ns.<domain>.                              A/AAAA of `nameserverAddresses` (may be none)
 *   service.<domain>.                         no records (structure only)
 *   _tcp.service.<domain>.                    no records (structure only)
 *   <service>.service.<domain>.               A/AAAA of the service's healthy instances
 *   _<service>._tcp.service.<domain>.         SRV per healthy instance
 *   <id>.<service>.service.<domain>.          A/AAAA of that instance, whatever its health
 *   <subset>.<service>.service.<domain>.      A/AAAA of the healthy instances of a subset of the
 *                                             service's policy (Service.policy.subsets)
 *   _tcp.<service>.service.<domain>.          no records (structure only; when the service has subsets)
 *   _<subset>._tcp.<service>.service.<domain>. SRV per healthy instance of the subset
 *
 * An instance id and a subset name are both DNS labels under the service,
 * so one may shadow the other: the instance wins. Its name is an SRV
 * target, and SRV answers must keep pointing at the instance.
 *
 * An instance name answers while the instance exists in any health state: it
 * is an SRV target, and a client that picked it must still reach it while it
 * drains. Only the service-level names filter on health.
 *
 * The structural names always exist, so they answer NODATA rather than
 * NXDOMAIN: NXDOMAIN would claim nothing exists below them (RFC 8020), and a
 * resolver that trusts that would stop asking for the SRV names under `_tcp`.
 */
export interface Zone {
  /** Lower case, no trailing dot, e.g. `mesh` or `svc.example`. */
  readonly domain: string;
  readonly ttlSeconds: number;
  /** Where `ns.<domain>.` points; empty when the server's address is not known (bound to 0.0.0.0 or ::). */
  readonly nameserverAddresses: readonly string[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_TTL_SECONDS = 2 ** 31 - 1;

/** Checks and normalises the zone settings; SteadyError `invalid-argument` names what is wrong. */
export function createZone(options: { domain: string; ttlSeconds: number; nameserverAddresses?: readonly string[] }): Zone {
  const domain = options.domain.toLowerCase().replace(/\.$/, "");
  if (domain.length === 0 || domain.length > 200 || !domain.split(".").every((label) => LABEL.test(label))) {
    throw new SteadyError("invalid-argument", `dns domain: must be dot-separated DNS labels ([a-z0-9-], 1-63 characters each), got "${options.domain}"`);
  }
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 0 || options.ttlSeconds > MAX_TTL_SECONDS) {
    throw new SteadyError("invalid-argument", `dns ttl: must be an integer number of seconds from 0 to ${MAX_TTL_SECONDS}, got ${options.ttlSeconds}`);
  }
  return { domain, ttlSeconds: options.ttlSeconds, nameserverAddresses: [...(options.nameserverAddresses ?? [])] };
}

/** What a query name is, relative to the zone and one registry view. */
export type ZoneNode =
  | { readonly kind: "outside" }
  /** Under the domain, but nothing is there: NXDOMAIN. */
  | { readonly kind: "absent" }
  | { readonly kind: "apex" }
  | { readonly kind: "nameserver" }
  /** `service.<domain>.` and `_tcp.service.<domain>.`: they exist and hold no records. */
  | { readonly kind: "structure" }
  | { readonly kind: "service"; readonly entry: ServiceEntry }
  | { readonly kind: "srv"; readonly entry: ServiceEntry }
  /** `<subset>.<service>…` (A/AAAA) or `_<subset>._tcp.<service>…` (SRV) of a subset of the service's policy. */
  | { readonly kind: "subset"; readonly entry: ServiceEntry; readonly subset: Subset }
  | { readonly kind: "subset-srv"; readonly entry: ServiceEntry; readonly subset: Subset }
  | { readonly kind: "instance"; readonly instance: Instance };

/** Finds a name (any case, with or without the trailing dot) in the zone. */
export function locate(name: string, zone: Zone, view: RegistryView): ZoneNode {
  const lower = name.toLowerCase().replace(/\.$/, "");
  if (lower === zone.domain) return { kind: "apex" };
  if (!lower.endsWith(`.${zone.domain}`)) return { kind: "outside" };
  const labels = lower.slice(0, -zone.domain.length - 1).split(".").reverse();
  if (labels.length === 1 && labels[0] === "ns") return { kind: "nameserver" };
  if (labels[0] !== "service") return { kind: "absent" };
  return locateUnderService(labels.slice(1), view);
}

/** `labels` are those left of `service.<domain>`, nearest to it first. */
function locateUnderService(labels: readonly string[], view: RegistryView): ZoneNode {
  const [first, second, third] = labels;
  if (first === undefined) return { kind: "structure" };
  if (first === "_tcp") {
    if (second === undefined) return { kind: "structure" };
    const entry = third === undefined && second.startsWith("_") ? view.services.get(second.slice(1)) : undefined;
    return entry ? { kind: "srv", entry } : { kind: "absent" };
  }
  const entry = view.services.get(first);
  if (!entry) return { kind: "absent" };
  if (second === undefined) return { kind: "service", entry };
  if (second === "_tcp") return locateSubsetSrv(entry, labels.slice(2));
  if (third !== undefined) return { kind: "absent" };
  const instance = entry.instances.get(second);
  if (instance) return { kind: "instance", instance };
  const subset = findSubset(entry, second);
  return subset ? { kind: "subset", entry, subset } : { kind: "absent" };
}

/** `labels` are those left of `_tcp.<service>.service.<domain>`, nearest first. */
function locateSubsetSrv(entry: ServiceEntry, labels: readonly string[]): ZoneNode {
  const [label, extra] = labels;
  // `_tcp.<service>` exists (NODATA) only when there are subset SRV names below it (RFC 8020).
  if (label === undefined) return (entry.service.policy?.subsets.length ?? 0) > 0 ? { kind: "structure" } : { kind: "absent" };
  const subset = extra === undefined && label.startsWith("_") ? findSubset(entry, label.slice(1)) : undefined;
  return subset ? { kind: "subset-srv", entry, subset } : { kind: "absent" };
}

function findSubset(entry: ServiceEntry, name: string): Subset | undefined {
  return entry.service.policy?.subsets.find((subset) => subset.name === name);
}

/** A name the zone answers for a service, and the type of record it holds. */
export interface ServiceName {
  /** Fully qualified, with the trailing dot. */
  readonly name: string;
  readonly type: "A" | "SRV";
}

/**
 * The service-level names of `service` in the zone (the Zone comment's
 * table): its address name and SRV name, then per subset of its policy the
 * subset's address and SRV names, in the policy's order. A subset shadowed
 * by an instance id of the same name is left out (the instance wins).
 * Instance names are not listed: one per instance, they follow from the SRV
 * targets. Each name, given to `locate`, finds this service.
 */
export function serviceNames(entry: ServiceEntry, zone: Zone): ServiceName[] {
  const name = entry.service.name;
  const base = `${name}.service.${zone.domain}`;
  const names: ServiceName[] = [{ name: `${base}.`, type: "A" }, { name: `_${name}._tcp.service.${zone.domain}.`, type: "SRV" }];
  for (const subset of entry.service.policy?.subsets ?? []) {
    if (entry.instances.has(subset.name)) continue;
    names.push({ name: `${subset.name}.${base}.`, type: "A" }, { name: `_${subset.name}._tcp.${base}.`, type: "SRV" });
  }
  return names;
}

/** `<id>.<service>.service.<domain>`: where an SRV record points. */
export function instanceName(instance: Instance, zone: Zone): string {
  return `${instance.id}.${instance.service}.service.${zone.domain}`;
}

function nameserverName(zone: Zone): string {
  return `ns.${zone.domain}`;
}

/**
 * Every record at `node`, of every type, owned by `owner` (the name as the
 * client spelled it). The caller filters by the question type.
 */
export function recordsAt(node: ZoneNode, owner: string, zone: Zone, view: RegistryView): Answer[] {
  const ttl = zone.ttlSeconds;
  switch (node.kind) {
    case "apex":
      return [{ ...soaRecord(zone, view), name: owner }, { type: "NS", name: owner, ttl, data: nameserverName(zone) }];
    case "nameserver":
      return zone.nameserverAddresses.flatMap((address) => addressRecord(owner, address, ttl));
    case "service":
      return servedInstances(node.entry).flatMap((i) => addressRecord(owner, i.address, ttl));
    case "srv":
      return servedInstances(node.entry).map((i) => srvRecord(owner, i, zone));
    case "subset":
      return servedInstances(node.entry, node.subset).flatMap((i) => addressRecord(owner, i.address, ttl));
    case "subset-srv":
      return servedInstances(node.entry, node.subset).map((i) => srvRecord(owner, i, zone));
    case "instance":
      return addressRecord(owner, node.instance.address, ttl);
    case "structure":
    case "absent":
    case "outside":
      return [];
  }
}

/**
 * For each record in `answers`, the address records of its target if it is
 * an SRV or NS record (else none), for the additional section, so a client
 * need not ask again. One group per answer, in the same order.
 */
export function glueFor(answers: readonly Answer[], zone: Zone, view: RegistryView): Answer[][] {
  return answers.map((answer) => {
    const target = answer.type === "SRV" ? answer.data.target : answer.type === "NS" ? answer.data : undefined;
    return target === undefined ? [] : recordsAt(locate(target, zone, view), target, zone, view);
  });
}

/**
 * The zone's SOA: serial = registry revision (mod 2^32), minimum = TTL, so
 * NXDOMAIN and NODATA are cached no longer than positive answers (RFC 2308).
 */
export function soaRecord(zone: Zone, view: RegistryView): SoaAnswer {
  const ttl = zone.ttlSeconds;
  return {
    type: "SOA",
    name: zone.domain,
    ttl,
    data: { mname: nameserverName(zone), rname: `hostmaster.${zone.domain}`, serial: view.revision >>> 0, refresh: 60, retry: 10, expire: 86_400, minimum: ttl },
  };
}

/**
 * Instances a service name and its SRV name list: healthy ones with an
 * address DNS can carry, and with `subset`, only those in it. See the Zone
 * comment for instance names.
 */
function servedInstances(entry: ServiceEntry, subset?: Subset): Instance[] {
  return [...entry.instances.values()].filter((i) => i.health === "healthy" && hasDnsForm(i.address) && (subset === undefined || inSubset(subset, i.metadata)));
}

function srvRecord(owner: string, instance: Instance, zone: Zone): Answer {
  const weight = Math.min(Math.max(Math.trunc(instance.weight), 0), 65535);
  return { type: "SRV", name: owner, ttl: zone.ttlSeconds, data: { priority: 0, weight, port: instance.port, target: instanceName(instance, zone) } };
}

/**
 * An IPv6 address with a zone index (`fe80::1%eth0`) has no DNS form, and
 * dns-packet would encode it as a wrong address, so it gets no record.
 */
function hasDnsForm(address: string): boolean {
  return !address.includes("%");
}

/** A for IPv4, AAAA for IPv6: addresses are validated literals, so a colon means IPv6. */
function addressRecord(owner: string, address: string, ttl: number): Answer[] {
  if (!hasDnsForm(address)) return [];
  return [{ type: address.includes(":") ? "AAAA" : "A", name: owner, ttl, data: address }];
}
