/**
 * The push guard's validation: would a stock client NACK any resource of a
 * generation? The rules live in src/resources (one module per resource
 * type, shared with the resolver), which mirror the checks of
 * @grpc/grpc-js-xds 1.14 (build/src/xds-resource-type/*.js) and add Envoy's
 * field rules where they are stricter. Where the client's
 * verdict hangs on a nested message the codec cannot read (TLS contexts,
 * fault-filter configs, TypedStruct, custom LB policies), the guard rejects:
 * holding a valid generation is recoverable, pushing a NACKed one is not.
 */
import { SortedMap } from "../collections/index.js";
import type { Issue } from "../errors/index.js";
import { ENDPOINT_TYPE, RESOURCE_TYPES, shortTypeName, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { RESOURCE_KINDS, decodeProblem, joinPath, validateDecoded, type Decoded, type Findings } from "../resources/index.js";
import { createConsistencyChecker, type Resource, type Snapshot } from "../snapshot/index.js";

/**
 * Every problem in `snapshot` that would make a stock gRPC client
 * (@grpc/grpc-js-xds) or Envoy NACK it, or leave a client waiting for a
 * resource that never comes; [] when there is none. Never throws.
 *
 * Paths are `<LDS|RDS|CDS|EDS>/<resource name>: <field path>`, e.g.
 * `CDS/greeter: lb_policy` or
 * `EDS/greeter: endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value`;
 * a problem with the whole resource has the bare `EDS/greeter` (`cannot
 * decode …`). Messages say what is wrong and what is allowed.
 *
 * Order: the consistency check's issues (dangling references, resources
 * stored under the wrong name or type; see checkConsistency) first, then
 * each resource's own, by type (LDS, RDS, CDS, EDS) and map order. A
 * failure is reported once, even when both passes meet it.
 */
export function validateSnapshot(codec: Codec, snapshot: Snapshot): Issue[] {
  const state = stateFor(codec);
  const results = resultsOf(codec, state, snapshot);
  const issues: Issue[] = [];
  const decodeErrors = new Map<string, ReadonlySet<string>>();
  for (const type of RESOURCE_TYPES) {
    for (const [key, result] of results[type]) {
      if (result.noted.size > 0) decodeErrors.set(consistencyPrefix(type, key), result.noted);
      issues.push(...result.issues);
    }
  }
  return [...consistencyIssues(state.consistency, snapshot, decodeErrors), ...issues];
}

/** Per type, the result of each resource that has issues or a decode error, by key; the others are clean. */
type Results = Readonly<Record<ResourceTypeUrl, SortedMap<ResourceResult>>>;

/**
 * The snapshot's per-resource results: derived from the last snapshot
 * validated with this codec by looking only at the resources that differ
 * (for a candidate built from the served generation, the cost follows the
 * change), or, the first time, from every resource.
 */
function resultsOf(codec: Codec, state: ValidationState, snapshot: Snapshot): Results {
  const known = state.bySnapshot.get(snapshot);
  if (known) return known;
  const last = state.last;
  const results = {} as Record<ResourceTypeUrl, SortedMap<ResourceResult>>;
  for (const type of RESOURCE_TYPES) {
    const changes: [string, ResourceResult | undefined][] = [];
    const look = (key: string, resource: Resource): void => {
      // A resource filed under another type is the consistency check's finding; its body means nothing here.
      const result = resource.typeUrl === type ? resourceResult(codec, state, type, key, resource.body) : undefined;
      changes.push([key, result && (result.issues.length > 0 || result.noted.size > 0) ? result : undefined]);
    };
    if (last) {
      snapshot.resources[type].diffFrom(last.snapshot.resources[type], {
        added: look,
        changed: (key, _before, after) => look(key, after),
        removed: (key) => changes.push([key, undefined]),
      });
      results[type] = last.results[type].with(changes);
    } else {
      for (const [key, resource] of snapshot.resources[type]) look(key, resource);
      results[type] = SortedMap.of(changes.filter((change): change is [string, ResourceResult] => change[1] !== undefined));
    }
  }
  state.bySnapshot.set(snapshot, results);
  state.last = { snapshot, results };
  return results;
}

/** One resource's own findings: a pure function of its type, key and bytes. */
interface ResourceResult {
  readonly issues: readonly Issue[];
  readonly noted: ReadonlySet<string>;
}

/**
 * What is remembered across calls, per codec: successive generations share
 * most Resource bodies (the builder reuses unchanged ones), so each body is
 * validated once; entries go when the bodies do.
 */
interface ValidationState {
  readonly results: WeakMap<Uint8Array, { readonly byKey: Map<string, ResourceResult>; last?: { type: ResourceTypeUrl; key: string; result: ResourceResult } }>;
  readonly consistency: (snapshot: Snapshot) => Issue[];
  /** Each snapshot's results, and the last made, to derive the next from. */
  readonly bySnapshot: WeakMap<Snapshot, Results>;
  last?: { readonly snapshot: Snapshot; readonly results: Results };
}

const states = new WeakMap<Codec, ValidationState>();

function stateFor(codec: Codec): ValidationState {
  let state = states.get(codec);
  if (!state) states.set(codec, (state = { results: new WeakMap(), consistency: createConsistencyChecker(codec), bySnapshot: new WeakMap() }));
  return state;
}

function resourceResult(codec: Codec, state: ValidationState, type: ResourceTypeUrl, key: string, body: Uint8Array): ResourceResult {
  // Not bytes at all: nothing to remember it by (the codec reports the problem).
  const byKey = body instanceof Uint8Array ? state.results.get(body) : undefined;
  // Most calls are for a body seen before under the same key: checked without building the key string.
  const last = byKey?.last;
  if (last && last.type === type && last.key === key) return last.result;
  const cacheKey = `${type}\u0000${key}`;
  const known = byKey?.byKey.get(cacheKey);
  if (known) return known;
  const issues: Issue[] = [];
  const noted = new Set<string>();
  validateResource(codec, type, body, createFindings(resourcePath(type, key), issues, noted));
  const result = { issues, noted };
  if (body instanceof Uint8Array) {
    const entry = byKey ?? { byKey: new Map<string, ResourceResult>() };
    entry.byKey.set(cacheKey, result);
    entry.last = { type, key, result };
    state.results.set(body, entry);
  }
  return result;
}

/** Decodes (once per bytes, shared with the consistency check) and validates one resource. */
function validateResource(codec: Codec, type: ResourceTypeUrl, body: Uint8Array, findings: Findings): void {
  let decoded: Decoded;
  try {
    decoded = RESOURCE_KINDS[type].decode(codec, body);
  } catch (error) {
    findings.noteDecodeError(describe(error));
    findings.add("", decodeProblem(error));
    return;
  }
  validateDecoded(codec, decoded, findings);
}

/** checkConsistency's issues, in this module's path style, minus decode failures the resource pass already reported. */
function consistencyIssues(check: (snapshot: Snapshot) => Issue[], snapshot: Snapshot, decodeErrors: ReadonlyMap<string, ReadonlySet<string>>): Issue[] {
  let found: Issue[];
  try {
    found = check(snapshot);
  } catch (error) {
    // checkConsistency rethrows anything but the codec's typed errors; report it rather than throw.
    return [{ path: "", message: `the consistency check failed: ${describe(error)}` }];
  }
  const issues: Issue[] = [];
  for (const issue of found) {
    const where = locate(snapshot, issue.path);
    if (!where) {
      issues.push(issue);
      continue;
    }
    const prefix = consistencyPrefix(where.type, where.key);
    if (where.field === "" && decodeErrors.get(prefix)?.has(issue.message)) continue;
    const field = where.type === ENDPOINT_TYPE && where.field === "name" ? "cluster_name" : where.field;
    issues.push({ path: joinResourcePath(resourcePath(where.type, where.key), field), message: issue.message });
  }
  return issues;
}

/**
 * Splits a consistency path (`RDS[login].virtual_hosts[0].route.cluster`) into
 * the resource and the field. Keys may contain `]` or `.`, so the path is
 * matched against the snapshot's own keys, the longest match winning.
 */
function locate(snapshot: Snapshot, path: string): { type: ResourceTypeUrl; key: string; field: string } | undefined {
  let best: { type: ResourceTypeUrl; key: string; field: string } | undefined;
  for (const type of RESOURCE_TYPES) {
    for (const key of snapshot.resources[type].keys()) {
      const prefix = consistencyPrefix(type, key);
      if (path !== prefix && !path.startsWith(`${prefix}.`)) continue;
      if (!best || key.length > best.key.length) best = { type, key, field: path.slice(prefix.length + 1) };
    }
  }
  return best;
}

function consistencyPrefix(type: ResourceTypeUrl, key: string): string {
  return `${shortTypeName(type)}[${key}]`;
}

function resourcePath(type: ResourceTypeUrl, key: string): string {
  return `${shortTypeName(type)}/${key}`;
}

function joinResourcePath(resource: string, field: string): string {
  return field === "" ? resource : `${resource}: ${field}`;
}

/** Findings that append to `issues` under `resource`; `noted` collects the decode errors reported. */
function createFindings(resource: string, issues: Issue[], noted: Set<string>, prefix = ""): Findings {
  return {
    add: (field, message) => issues.push({ path: joinResourcePath(resource, joinPath(prefix, field)), message }),
    at: (more) => createFindings(resource, issues, noted, joinPath(prefix, more)),
    noteDecodeError: (message) => noted.add(message),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
