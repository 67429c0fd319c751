/**
 * Registry data that would make a stock gRPC client NACK a whole resource.
 * The registry validates its input, so these are a second line of defence:
 * one bad instance must not turn into a NACKed EDS update for every client.
 */
import { isIP } from "node:net";
import type { Issue } from "../errors/index.js";
import { LB_POLICIES } from "../registry/index.js";
import type { ServiceEntry } from "../registry/index.js";
import { usableInstances } from "./service-resources.js";

const UINT32_MAX = 0xffff_ffff;

/** Every problem of `entry`, stored in the view under `key`; paths start `services[key]`. */
export function checkServiceEntry(key: string, entry: ServiceEntry): Issue[] {
  const base = `services[${key}]`;
  const issues: Issue[] = [];
  if (entry.service.name !== key) {
    issues.push({ path: `${base}.service.name`, message: `is ${JSON.stringify(entry.service.name)}, but the view stores it under ${JSON.stringify(key)}` });
  }
  if (!(LB_POLICIES as readonly string[]).includes(entry.service.lbPolicy)) {
    issues.push({ path: `${base}.service.lbPolicy`, message: `must be one of ${LB_POLICIES.join(", ")}, got ${JSON.stringify(entry.service.lbPolicy)}` });
  }
  const seen = new Map<string, string>();
  let totalWeight = 0;
  // Only instances sent in EDS matter to clients.
  for (const instance of usableInstances(entry)) {
    const path = `${base}.instances[${instance.id}]`;
    if (isIP(instance.address) === 0) {
      issues.push({ path: `${path}.address`, message: `must be an IPv4 or IPv6 literal, got ${JSON.stringify(instance.address)}` });
    }
    if (!Number.isInteger(instance.port) || instance.port < 1 || instance.port > 65535) {
      issues.push({ path: `${path}.port`, message: `must be an integer from 1 to 65535, got ${instance.port}` });
    }
    if (!Number.isInteger(instance.weight) || instance.weight < 1 || instance.weight > UINT32_MAX) {
      issues.push({ path: `${path}.weight`, message: `must be a positive integer, got ${instance.weight}` });
    }
    totalWeight += instance.weight;
    const endpoint = `${instance.address}:${instance.port}`;
    const other = seen.get(endpoint);
    if (other !== undefined) {
      issues.push({ path: `${path}.address`, message: `${endpoint} is also used by instance ${other}; gRPC clients reject duplicate endpoints` });
    }
    seen.set(endpoint, instance.id);
  }
  if (totalWeight > UINT32_MAX) {
    issues.push({ path: `${base}.instances`, message: `weights sum to ${totalWeight}, more than ${UINT32_MAX}` });
  }
  return issues;
}
