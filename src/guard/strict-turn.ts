/**
 * Which services a generation turns `strict` (issue 16), read from the
 * resources: a service's Cluster gains a transport socket (its
 * UpstreamTlsContext), and its server Listeners are the Listeners with an
 * address whose filter chain is `<service>-inbound` (src/snapshot's
 * security-resources.ts). Only what changed against the baseline is decoded.
 */
import { CLUSTER_TYPE, LISTENER_TYPE, type Codec } from "../proto/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";
import type { StrictCandidate } from "./mtls-readiness.js";

const INBOUND_SUFFIX = "-inbound";

/**
 * The services whose Cluster has a transport socket in `candidate` and had
 * none (or did not exist) in `baseline`, each with its server Listeners in
 * `candidate` that are new or changed, in name order. Throws what the codec
 * throws.
 */
export function servicesTurningStrict(codec: Codec, baseline: Snapshot | undefined, candidate: Snapshot): StrictCandidate[] {
  const turning: string[] = [];
  const hasTls = (resource: Resource | undefined): boolean => resource !== undefined && codec.decodeResource(CLUSTER_TYPE, resource.body).transport_socket !== undefined;
  const consider = (name: string, before: Resource | undefined, after: Resource): void => {
    if (hasTls(after) && !hasTls(before)) turning.push(name);
  };
  const clusters = candidate.resources[CLUSTER_TYPE];
  if (baseline) clusters.diffFrom(baseline.resources[CLUSTER_TYPE], { added: (name, after) => consider(name, undefined, after), changed: consider, removed: () => undefined });
  else for (const [name, resource] of clusters) consider(name, undefined, resource);
  if (turning.length === 0) return [];
  const listeners = new Map<string, string[]>(turning.map((name) => [name, []]));
  const collect = (name: string, resource: Resource): void => {
    const listener = codec.decodeResource(LISTENER_TYPE, resource.body);
    const chain = listener.address ? listener.filter_chains?.[0]?.name : undefined;
    const owner = chain?.endsWith(INBOUND_SUFFIX) ? chain.slice(0, -INBOUND_SUFFIX.length) : undefined;
    if (owner !== undefined) listeners.get(owner)?.push(name);
  };
  const ldsNow = candidate.resources[LISTENER_TYPE];
  if (baseline) ldsNow.diffFrom(baseline.resources[LISTENER_TYPE], { added: collect, changed: (name, _before, after) => collect(name, after), removed: () => undefined });
  else for (const [name, resource] of ldsNow) collect(name, resource);
  return turning.map((service) => ({ service, serverListeners: listeners.get(service) ?? [] }));
}
