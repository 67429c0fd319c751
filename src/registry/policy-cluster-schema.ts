import { z } from "zod";
import { formatPath, rule, show, type Issue } from "../errors/index.js";
import type { TrafficPolicy } from "./policy.js";

/**
 * The issue-19 fields of a traffic policy (policy.ts): outlierDetection,
 * maxRequests, loadBalancing, dnsFallback and failover, validated with the
 * ranges stock clients accept (grpc-js-xds's Cluster validator: percentages
 * ≤ 100, ring sizes ≤ 8388608). policy-validate.ts adds `clusterPolicyShape`
 * to its document schema and runs `clusterPolicyIssues` on the raw input for
 * the rules that span fields, so that they are listed with every other problem.
 */

const MAX_LOCALITIES = 64;
const MAX_RING_SIZE = 8_388_608;
const MAX_HOST_NAME = 253;

function integer(min: number, max: number) {
  const allowed = `an integer from ${min} to ${max}`;
  return z.int(rule(allowed)).min(min, rule(allowed)).max(max, rule(allowed));
}

/** Lowercase RFC 9110 token characters: no ':' (pseudo-headers) and no uppercase. */
const HEADER_TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const HASH_HEADER_RULE = "a lowercase header name of [a-z0-9!#$%&'*+.^_`|~-] (1–128 characters), not ':'-prefixed, 'grpc-'-prefixed, '-bin'-suffixed or content-type";

/** Why stock clients would never hash on `name`, or undefined when they do. */
export function hashHeaderProblem(name: string): string | undefined {
  if (name.startsWith(":")) return `pseudo-headers are not request metadata; must be ${HASH_HEADER_RULE}, got ${show(name)}`;
  if (!HEADER_TOKEN.test(name)) return `must be ${HASH_HEADER_RULE}, got ${show(name)}`;
  // gRPC reserves the grpc- prefix for itself (grpc-timeout, grpc-encoding …): an application cannot set these.
  if (name.startsWith("grpc-")) return `the grpc- prefix is reserved by gRPC, so no call carries it as metadata; must be ${HASH_HEADER_RULE}, got ${show(name)}`;
  // grpc-js-xds and C-core skip binary headers when hashing (gRFC A42): every call would get a random hash.
  if (name.endsWith("-bin")) return `stock clients do not hash binary (-bin) headers, so every call would get a random hash; must be ${HASH_HEADER_RULE}, got ${show(name)}`;
  // Stock clients hash content-type as the constant "application/grpc": every call would reach one endpoint.
  if (name === "content-type") return `stock clients hash content-type as the constant "application/grpc", so every call would reach one endpoint; must be ${HASH_HEADER_RULE}`;
  return undefined;
}

/** Lowercase labels of [a-z0-9-] (1–63, not starting or ending with '-'), joined by dots, at most 253 characters, no trailing dot. */
const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_NAME_RULE = "a DNS host name: lowercase labels of [a-z0-9-] (1–63 characters, not starting or ending with '-') joined by dots, at most 253 characters, without a trailing dot";

export function isHostName(name: string): boolean {
  return name.length <= MAX_HOST_NAME && name.split(".").every((label) => HOST_LABEL.test(label));
}

/** The rule for instance zones and regions (validate.ts), but not empty: an empty locality already comes last. */
const LOCALITY = /^[A-Za-z0-9._-]{1,63}$/;
const LOCALITY_RULE = "a zone or region name: 1–63 characters of [A-Za-z0-9._-]";
const LOCALITY_LIST_RULE = `a list of 1 to ${MAX_LOCALITIES} unique names, each ${LOCALITY_RULE}`;

function localityList() {
  return z
    .array(z.string(rule(LOCALITY_RULE)).regex(LOCALITY, rule(LOCALITY_RULE)), rule(LOCALITY_LIST_RULE))
    .min(1, rule(LOCALITY_LIST_RULE))
    .max(MAX_LOCALITIES, rule(LOCALITY_LIST_RULE))
    .optional();
}

const outlierDetection = z.strictObject(
  {
    consecutiveErrors: integer(1, 1000).optional(),
    intervalMs: integer(1, 3_600_000).optional(),
    baseEjectionMs: integer(1, 3_600_000).optional(),
    maxEjectionPercent: integer(0, 100).optional(),
    failurePercentage: z
      .strictObject({ threshold: integer(0, 100), minimumHosts: integer(1, 1000), requestVolume: integer(1, 1_000_000) }, rule("an object {threshold, minimumHosts, requestVolume}"))
      .optional(),
  },
  rule("an object with consecutiveErrors or failurePercentage (or both), and optionally intervalMs, baseEjectionMs, maxEjectionPercent"),
);

const LB_POLICY_RULE = "one of round_robin, ring_hash";
const loadBalancing = z.strictObject(
  {
    policy: z.enum(["round_robin", "ring_hash"], rule(LB_POLICY_RULE)),
    hashOn: z
      .strictObject(
        {
          header: z.string(rule(HASH_HEADER_RULE)).superRefine((name, ctx) => {
            const why = hashHeaderProblem(name);
            if (why !== undefined) ctx.addIssue({ code: "custom", message: why });
          }),
        },
        rule("an object {header}"),
      )
      .optional(),
    ringSize: z.strictObject({ min: integer(1, MAX_RING_SIZE), max: integer(1, MAX_RING_SIZE) }, rule("an object {min, max}")).optional(),
  },
  rule("an object {policy, hashOn, ringSize}"),
);

const dnsFallback = z.strictObject(
  {
    name: z.string(rule(HOST_NAME_RULE)).refine(isHostName, rule(HOST_NAME_RULE)).optional(),
    port: integer(1, 65_535),
  },
  rule("an object {name, port}"),
);

const failover = z.strictObject({ zones: localityList(), regions: localityList() }, rule("an object with exactly one of zones and regions"));

/** The document fields of issue 19, each optional (absent: off). */
export const clusterPolicyShape = {
  outlierDetection: outlierDetection.optional(),
  maxRequests: integer(1, 4_294_967_295).optional(),
  loadBalancing: loadBalancing.optional(),
  dnsFallback: dnsFallback.optional(),
  failover: failover.optional(),
};

/** The fields each of these objects allows, for "unknown field" messages (keys as policy-validate.ts's ALLOWED). */
export const CLUSTER_POLICY_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  outlierDetection: Object.keys(outlierDetection.shape),
  "outlierDetection.failurePercentage": ["threshold", "minimumHosts", "requestVolume"],
  loadBalancing: Object.keys(loadBalancing.shape),
  "loadBalancing.hashOn": ["header"],
  "loadBalancing.ringSize": ["min", "max"],
  dnsFallback: Object.keys(dnsFallback.shape),
  failover: Object.keys(failover.shape),
};

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Rules that span fields, run on the raw input beside the schema (zod skips
 * an object's refinements when one of its fields is bad): outlierDetection
 * needs a detector, hashOn and ringSize need ring_hash, ring min ≤ max,
 * failover takes exactly one of zones and regions, each name once. Malformed
 * parts are left to the schema.
 */
export function clusterPolicyIssues(input: unknown, prefix: readonly PropertyKey[]): Issue[] {
  const issues: Issue[] = [];
  const at = (...path: PropertyKey[]) => formatPath([...prefix, ...path]);
  const outlier = field(input, "outlierDetection");
  if (isObject(outlier) && field(outlier, "consecutiveErrors") === undefined && field(outlier, "failurePercentage") === undefined) {
    issues.push({ path: at("outlierDetection"), message: "must have consecutiveErrors, failurePercentage or both; without either nothing is ever ejected" });
  }
  const balancing = field(input, "loadBalancing");
  const policy = field(balancing, "policy");
  // Only beside a valid round_robin: a bad or missing policy is the schema's one problem.
  if (policy === "round_robin") {
    for (const key of ["hashOn", "ringSize"]) {
      if (field(balancing, key) !== undefined) issues.push({ path: at("loadBalancing", key), message: "is only for policy ring_hash; leave it out for policy round_robin" });
    }
  }
  const ring = field(balancing, "ringSize");
  const min = field(ring, "min");
  const max = field(ring, "max");
  if (Number.isInteger(min) && Number.isInteger(max) && (max as number) < (min as number) && (min as number) >= 1 && (min as number) <= MAX_RING_SIZE) {
    issues.push({ path: at("loadBalancing", "ringSize", "max"), message: `must be at least min (${min as number}), got ${max as number}` });
  }
  const order = field(input, "failover");
  if (isObject(order)) {
    const given = (["zones", "regions"] as const).filter((key) => field(order, key) !== undefined);
    if (given.length !== 1) issues.push({ path: at("failover"), message: `must have exactly one of zones and regions; got ${given.length === 0 ? "none" : "both"}` });
    for (const key of given) {
      const names = field(order, key);
      if (!Array.isArray(names)) continue;
      const seen = new Set<unknown>();
      names.forEach((name, index) => {
        if (typeof name === "string" && seen.has(name)) issues.push({ path: at("failover", key, index), message: `${show(name)} is listed twice; list each ${key === "zones" ? "zone" : "region"} once` });
        seen.add(name);
      });
    }
  }
  return issues;
}

type ClusterFields = Pick<TrafficPolicy, "outlierDetection" | "maxRequests" | "loadBalancing" | "dnsFallback" | "failover">;
/** As the schema gives them: optional fields may hold undefined. */
type ParsedClusterFields = z.output<z.ZodObject<typeof clusterPolicyShape>>;

/** The issue-19 fields in canonical order, absent ones (and absent inner fields) left out; not frozen. */
export function canonicalClusterPolicy(p: ClusterFields | ParsedClusterFields): ClusterFields {
  const o = p.outlierDetection;
  const lb = p.loadBalancing;
  const dns = p.dnsFallback;
  const order = p.failover;
  return {
    ...(o !== undefined && {
      outlierDetection: {
        ...(o.consecutiveErrors !== undefined && { consecutiveErrors: o.consecutiveErrors }),
        ...(o.intervalMs !== undefined && { intervalMs: o.intervalMs }),
        ...(o.baseEjectionMs !== undefined && { baseEjectionMs: o.baseEjectionMs }),
        ...(o.maxEjectionPercent !== undefined && { maxEjectionPercent: o.maxEjectionPercent }),
        ...(o.failurePercentage !== undefined && {
          failurePercentage: { threshold: o.failurePercentage.threshold, minimumHosts: o.failurePercentage.minimumHosts, requestVolume: o.failurePercentage.requestVolume },
        }),
      },
    }),
    ...(p.maxRequests !== undefined && { maxRequests: p.maxRequests }),
    ...(lb !== undefined && {
      loadBalancing: {
        policy: lb.policy,
        ...(lb.hashOn !== undefined && { hashOn: { header: lb.hashOn.header } }),
        ...(lb.ringSize !== undefined && { ringSize: { min: lb.ringSize.min, max: lb.ringSize.max } }),
      },
    }),
    ...(dns !== undefined && { dnsFallback: { ...(dns.name !== undefined && { name: dns.name }), port: dns.port } }),
    ...(order !== undefined && {
      failover: { ...(order.zones !== undefined && { zones: [...order.zones] }), ...(order.regions !== undefined && { regions: [...order.regions] }) },
    }),
  };
}
