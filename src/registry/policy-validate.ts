import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { ValidationError, formatPath, oneOf, rule, show, type Issue } from "../errors/index.js";
import { CLUSTER_POLICY_ALLOWED, canonicalClusterPolicy, clusterPolicyIssues, clusterPolicyShape } from "./policy-cluster-schema.js";
import { GRPC_CODE_NAMES, MAX_ATTEMPTS, RETRY_CODES, type PolicyDocument, type TrafficPolicy } from "./policy.js";

/**
 * Turns untrusted policy documents (a YAML or JSON file, an admin API body)
 * into PolicyDocument values (policy.ts). Every problem is reported at once,
 * each as `path: message` naming the path (`documents[1].routes[0].to[1].weight`
 * when a file has several documents) and what is allowed. Values returned
 * are deep-frozen and canonical: a single target without a weight gets 100.
 */

const MAX_SUBSETS = 64;
const MAX_ROUTES = 256;
const MAX_TARGETS = 64;
const MAX_HEADERS = 32;
const MAX_DOCUMENTS = 256;
const MAX_METADATA_ENTRIES = 64;
const MAX_METADATA_VALUE = 1024;
const MAX_TEXT = 1024;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL_RULE = "a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-')";
const METHOD = /^\/[^/]+\/[^/]+$/;
const METHOD_RULE = "an exact method path /package.Service/Method";
const PREFIX_RULE = "a path prefix starting with '/', such as /shop.Checkout/";
/** RFC 9110 token characters, lowercase only; excludes `:` so no pseudo-header can be named. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const HEADER_NAME_RULE = "lowercase header names of [a-z0-9!#$%&'*+.^_`|~-] (1–128 characters; no ':' pseudo-headers)";
/** Constructs JavaScript accepts and RE2 (what stock clients use) does not. */
const NOT_RE2: readonly [RegExp, string][] = [
  [/\(\?<?[=!]/, "lookahead and lookbehind ((?=, (?!, (?<=, (?<!)"],
  [/\\[1-9]/, "backreferences (\\1 to \\9)"],
  [/\\k</, "named backreferences (\\k<name>)"],
];

const dnsLabel = z.string(rule(DNS_LABEL_RULE)).regex(DNS_LABEL, rule(DNS_LABEL_RULE));
const text = z.string(rule(`a string of at most ${MAX_TEXT} characters`)).max(MAX_TEXT, rule(`a string of at most ${MAX_TEXT} characters`));

function integer(min: number, max: number) {
  const allowed = `an integer from ${min} to ${max}`;
  return z.int(rule(allowed)).min(min, rule(allowed)).max(max, rule(allowed));
}

/** Stock clients take fault percentages as a fraction per million (gRFC A33), so four decimals of a percent are exact. */
function percent() {
  const allowed = "a number from 0 to 100 in steps of 0.0001";
  return z
    .number(rule(allowed))
    .min(0, rule(allowed))
    .max(100, rule(allowed))
    .refine((value) => Math.abs(value * 10_000 - Math.round(value * 10_000)) < 1e-6, rule(allowed));
}

/** A record that reports a `__proto__` key (zod drops it silently) and holds at most `max` entries. */
function record<V extends z.ZodType>(key: z.ZodType<string>, value: V, what: string, max: number, keyRule: string) {
  return z
    .unknown()
    .superRefine((input, ctx) => {
      if (typeof input === "object" && input !== null && Object.hasOwn(input, "__proto__")) {
        ctx.addIssue({ code: "custom", input: "__proto__", message: `key "__proto__" is not allowed; keys must be ${keyRule}` });
      }
    })
    .pipe(
      z.record(key, value, rule(what)).superRefine((entries, ctx) => {
        const count = Object.keys(entries).length;
        if (count > max) ctx.addIssue({ code: "custom", message: `must have at most ${max} entries, got ${count}` });
      }),
    );
}

/** Null when `source` is a regex stock clients accept, else why not. */
export function re2Problem(source: string): string | undefined {
  for (const [pattern, what] of NOT_RE2) {
    if (pattern.test(source)) return `RE2 has no ${what}; got ${show(source)}`;
  }
  try {
    new RegExp(source, "u");
  } catch (err) {
    return `must be a valid RE2 regular expression, got ${show(source)} (${(err as Error).message})`;
  }
  return undefined;
}

const METADATA_KEY_RULE = "1–63 characters";
const subset = z.strictObject(
  {
    name: dnsLabel,
    match: record(
      z.string({ error: (i) => `key ${show(i.input)} is not allowed; keys must be ${METADATA_KEY_RULE}` }).min(1, { error: (i) => `key ${show(i.input)} is not allowed; keys must be ${METADATA_KEY_RULE}` }).max(63, { error: (i) => `key ${show(i.input)} is not allowed; keys must be ${METADATA_KEY_RULE}` }),
      z.string(rule(`a string of at most ${MAX_METADATA_VALUE} characters`)).max(MAX_METADATA_VALUE, rule(`a string of at most ${MAX_METADATA_VALUE} characters`)),
      "an object of instance metadata keys to string values, such as {version: \"2\"}",
      MAX_METADATA_ENTRIES,
      METADATA_KEY_RULE,
    ).refine((entries) => Object.keys(entries).length > 0, { error: () => "must name at least one metadata key and value, such as {version: \"2\"}" }),
  },
  rule("an object {name, match}"),
);

const headerMatch = z
  .strictObject(
    {
      exact: text.optional(),
      prefix: text.optional(),
      regex: text.superRefine((source, ctx) => {
        const why = re2Problem(source);
        if (why !== undefined) ctx.addIssue({ code: "custom", message: why });
      }).optional(),
      present: z.literal(true, rule("true (leave it out otherwise)")).optional(),
      invert: z.boolean(rule("true or false")).optional(),
    },
    rule("an object with one of exact, prefix, regex, present: true, and optionally invert"),
  )
  .superRefine((header, ctx) => {
    const given = (["exact", "prefix", "regex", "present"] as const).filter((key) => header[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: "custom", message: `must have exactly one of exact, prefix, regex, present; got ${given.length === 0 ? "none" : given.join(", ")}` });
    }
  });

const HEADER_KEY_ERROR = { error: (i: { input?: unknown }) => `header ${show(i.input)} is not allowed; headers must be ${HEADER_NAME_RULE}` };
const routeMatch = z
  .strictObject(
    {
      method: z.string(rule(METHOD_RULE)).max(MAX_TEXT, rule(METHOD_RULE)).regex(METHOD, rule(METHOD_RULE)).optional(),
      prefix: z.string(rule(PREFIX_RULE)).max(MAX_TEXT, rule(PREFIX_RULE)).startsWith("/", rule(PREFIX_RULE)).optional(),
      headers: record(z.string(HEADER_KEY_ERROR).regex(HEADER_NAME, HEADER_KEY_ERROR), headerMatch, "an object of header name to match", MAX_HEADERS, HEADER_NAME_RULE).optional(),
    },
    rule("an object with at most one of method and prefix, and optionally headers"),
  )
  .superRefine((match, ctx) => {
    if (match.method !== undefined && match.prefix !== undefined) {
      ctx.addIssue({ code: "custom", path: ["prefix"], message: "a match takes at most one of method and prefix; leave one out" });
    }
  });

const target = z.strictObject({ subset: dnsLabel, weight: integer(0, 100).optional() }, rule("an object {subset, weight}"));

const RETRY_RULE = `a list of at least one of ${RETRY_CODES.join(", ")}`;
const retry = z.strictObject(
  {
    on: z.array(z.enum(RETRY_CODES, rule(oneOf(RETRY_CODES))), rule(RETRY_RULE)).min(1, rule(RETRY_RULE)),
    attempts: integer(2, MAX_ATTEMPTS),
    backoff: z
      .strictObject({ baseMs: integer(1, 60_000), maxMs: integer(1, 600_000) }, rule("an object {baseMs, maxMs}"))
      .superRefine((backoff, ctx) => {
        if (backoff.maxMs < backoff.baseMs) ctx.addIssue({ code: "custom", path: ["maxMs"], message: `must be at least baseMs (${backoff.baseMs}), got ${backoff.maxMs}` });
      })
      .optional(),
  },
  rule("an object {on, attempts, backoff}"),
);

const fault = z
  .strictObject(
    {
      delay: z.strictObject({ ms: integer(0, 3_600_000), percent: percent() }, rule("an object {ms, percent}")).optional(),
      abort: z.strictObject({ code: z.enum(GRPC_CODE_NAMES, rule(oneOf(GRPC_CODE_NAMES))), percent: percent() }, rule("an object {code, percent}")).optional(),
    },
    rule("an object with delay, abort or both"),
  )
  .superRefine((given, ctx) => {
    if (given.delay === undefined && given.abort === undefined) ctx.addIssue({ code: "custom", message: "must have delay, abort or both" });
  });

const route = z.strictObject(
  {
    match: routeMatch.default({}),
    to: z.array(target, rule("a list of targets {subset, weight}")).min(1, { error: () => "must list at least one target {subset, weight}" }).max(MAX_TARGETS, { error: () => `must list at most ${MAX_TARGETS} targets` }),
    timeoutMs: integer(1, 3_600_000).optional(),
    retry: retry.optional(),
    fault: fault.optional(),
  },
  rule("an object {match, to, timeoutMs, retry, fault}"),
);

const policyShape = {
  subsets: z.array(subset, rule("a list of subsets {name, match}")).max(MAX_SUBSETS, { error: () => `must list at most ${MAX_SUBSETS} subsets` }).default([]),
  routes: z.array(route, rule("a list of routes {match, to, …}")).max(MAX_ROUTES, { error: () => `must list at most ${MAX_ROUTES} routes` }).default([]),
  ...clusterPolicyShape,
};
const DOCUMENT_RULE = rule("an object {service, subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover}");
const documentSchema = z.strictObject({ service: dnsLabel, ...policyShape }, DOCUMENT_RULE);
const bodySchema = z.strictObject({ service: dnsLabel.optional(), ...policyShape }, DOCUMENT_RULE);

/** The fields each strict object allows, for "unknown field" messages; keyed by the object's path with indexes and record keys as `*`. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "": ["service", ...Object.keys(policyShape)],
  "subsets.*": ["name", "match"],
  "routes.*": Object.keys(route.shape),
  "routes.*.match": ["method", "prefix", "headers"],
  "routes.*.match.headers.*": ["exact", "prefix", "regex", "present", "invert"],
  "routes.*.to.*": ["subset", "weight"],
  "routes.*.retry": ["on", "attempts", "backoff"],
  "routes.*.retry.backoff": ["baseMs", "maxMs"],
  "routes.*.fault": ["delay", "abort"],
  "routes.*.fault.delay": ["ms", "percent"],
  "routes.*.fault.abort": ["code", "percent"],
  ...CLUSTER_POLICY_ALLOWED,
};

type ParsedPolicy = z.infer<typeof bodySchema>;


function entries(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Cross-field rules: unique subset names, targets naming existing subsets
 * once each, weights. Run on the raw input beside the schema (zod skips
 * refinements of an object with any bad field), so these problems are listed
 * together with every other; malformed parts are skipped here, the schema
 * reports them.
 */
function referenceIssues(input: unknown, prefix: readonly PropertyKey[]): Issue[] {
  const issues: Issue[] = [];
  const at = (...path: PropertyKey[]) => formatPath([...prefix, ...path]);
  const names = new Set<string>();
  entries(field(input, "subsets")).forEach((s, index) => {
    const name = field(s, "name");
    if (typeof name !== "string") return;
    if (names.has(name)) issues.push({ path: at("subsets", index, "name"), message: `subset ${show(name)} is defined twice; subset names must be unique` });
    names.add(name);
  });
  const known = names.size === 0 ? "there are no subsets" : `subsets are ${[...names].join(", ")}`;
  entries(field(input, "routes")).forEach((r, routeIndex) => {
    const targets = entries(field(r, "to"));
    const seen = new Set<string>();
    const weights: number[] = [];
    targets.forEach((t, index) => {
      const subsetName = field(t, "subset");
      if (typeof subsetName === "string") {
        if (!names.has(subsetName)) issues.push({ path: at("routes", routeIndex, "to", index, "subset"), message: `unknown subset ${show(subsetName)}; ${known}` });
        else if (seen.has(subsetName)) issues.push({ path: at("routes", routeIndex, "to", index, "subset"), message: `subset ${show(subsetName)} is listed twice; list each subset once` });
        seen.add(subsetName);
      }
      const weight = field(t, "weight");
      if (weight === undefined && targets.length > 1) issues.push({ path: at("routes", routeIndex, "to", index, "weight"), message: "is required when a route has more than one target; an integer from 0 to 100" });
      if (typeof weight === "number" && Number.isInteger(weight) && weight >= 0 && weight <= 100) weights.push(weight);
    });
    // Summed only when every weight is given and valid, so one bad weight is not reported twice.
    if (targets.length > 0 && weights.length === targets.length) {
      const sum = weights.reduce((total, w) => total + w, 0);
      if (sum !== 100) issues.push({ path: at("routes", routeIndex, "to"), message: `weights add up to ${sum}; they must add up to 100${targets.length === 1 ? " (a single target may leave weight out)" : ""}` });
    }
  });
  return issues;
}

function allowedAt(path: readonly PropertyKey[]): readonly string[] {
  const key = path.map((part) => (typeof part === "number" ? "*" : String(part)));
  // Header names and other record keys are free-form: replace the key after `headers` too.
  const normalized = key.map((part, index) => (key[index - 1] === "headers" ? "*" : part)).join(".");
  return ALLOWED[normalized] ?? [];
}

/** Flattens zod issues into ours, each path prefixed with `prefix`. */
function toIssues(error: z.ZodError, prefix: readonly PropertyKey[]): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ path: formatPath([...prefix, ...issue.path, key]), message: `unknown field; allowed fields are ${allowedAt(issue.path).join(", ")}` });
    } else if (issue.code === "invalid_key") {
      issues.push({ path: formatPath([...prefix, ...issue.path.slice(0, -1)]), message: issue.issues[0]?.message ?? issue.message });
    } else {
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(`${i.path}\n${i.message}`) && seen.add(`${i.path}\n${i.message}`));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The canonical, frozen policy: fields in a fixed order (as in policy.ts), absent ones left out, a lone target weighted 100. */
export function canonicalPolicy(policy: ParsedPolicy | TrafficPolicy): TrafficPolicy {
  return deepFreeze({
    subsets: policy.subsets.map((s) => ({ name: s.name, match: { ...s.match } })),
    routes: policy.routes.map((r) => ({
      match: {
        ...(r.match.method !== undefined && { method: r.match.method }),
        ...(r.match.prefix !== undefined && { prefix: r.match.prefix }),
        ...(r.match.headers !== undefined && { headers: Object.fromEntries(Object.entries(r.match.headers).map(([name, h]) => [name, canonicalHeader(h)])) }),
      },
      to: r.to.map((t) => ({ subset: t.subset, weight: t.weight ?? 100 })),
      ...(r.timeoutMs !== undefined && { timeoutMs: r.timeoutMs }),
      ...(r.retry !== undefined && {
        retry: { on: [...r.retry.on], attempts: r.retry.attempts, ...(r.retry.backoff !== undefined && { backoff: { baseMs: r.retry.backoff.baseMs, maxMs: r.retry.backoff.maxMs } }) },
      }),
      ...(r.fault !== undefined && {
        fault: {
          ...(r.fault.delay !== undefined && { delay: { ms: r.fault.delay.ms, percent: r.fault.delay.percent } }),
          ...(r.fault.abort !== undefined && { abort: { code: r.fault.abort.code, percent: r.fault.abort.percent } }),
        },
      }),
    })),
    ...canonicalClusterPolicy(policy),
  });
}

function canonicalHeader(h: { exact?: string | undefined; prefix?: string | undefined; regex?: string | undefined; present?: true | undefined; invert?: boolean | undefined }) {
  return {
    ...(h.exact !== undefined && { exact: h.exact }),
    ...(h.prefix !== undefined && { prefix: h.prefix }),
    ...(h.regex !== undefined && { regex: h.regex }),
    ...(h.present !== undefined && { present: h.present }),
    ...(h.invert !== undefined && { invert: h.invert }),
  };
}

/** Validates one document at `prefix`; pushes its problems to `issues` and returns the document when it has none. */
function parseDocument(value: unknown, prefix: readonly PropertyKey[], issues: Issue[]): PolicyDocument | undefined {
  const result = documentSchema.safeParse(value);
  const references = [...referenceIssues(value, prefix), ...clusterPolicyIssues(value, prefix)];
  if (!result.success || references.length > 0) {
    issues.push(...(result.success ? [] : toIssues(result.error, prefix)), ...references);
    return undefined;
  }
  return deepFreeze({ service: result.data.service, policy: canonicalPolicy(result.data) });
}

/** Several documents, each at `documents[i]` when `indexed`; a service may appear once. */
function parseDocumentList(values: readonly unknown[], indexed: boolean, issues: Issue[]): PolicyDocument[] {
  const documents: PolicyDocument[] = [];
  const first = new Map<string, number>();
  values.forEach((value, index) => {
    const prefix = indexed ? ["documents", index] : [];
    const document = parseDocument(value, prefix, issues);
    if (!document) return;
    const earlier = first.get(document.service);
    if (earlier !== undefined) {
      issues.push({ path: formatPath([...prefix, "service"]), message: `service ${show(document.service)} already has a policy in documents[${earlier}]; one document per service` });
    }
    first.set(document.service, index);
    documents.push(document);
  });
  return documents;
}

/**
 * Parses a policy file: YAML or JSON (JSON is YAML), one document or
 * several separated by `---`; empty documents are skipped. `source` names
 * the file in messages about the file as a whole. Throws one ValidationError
 * listing every problem of every document; paths carry `documents[i]` only
 * when the file has more than one document.
 */
export function parsePolicyDocuments(text: string, source: string): readonly PolicyDocument[] {
  const issues: Issue[] = [];
  const parsed = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const yamlDocuments = Array.isArray(parsed) ? parsed : [parsed];
  const values: unknown[] = [];
  yamlDocuments.forEach((document, index) => {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const at = error.linePos?.[0];
        issues.push({ path: `documents[${index}]`, message: `${source}${at ? ` line ${at.line} column ${at.col}` : ""}: not valid YAML or JSON: ${error.message.split("\n")[0] ?? ""}` });
      }
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias bomb or similar: reported as the document's problem, not thrown raw.
      issues.push({ path: `documents[${index}]`, message: `${source}: cannot be read: ${(err as Error).message}` });
      return;
    }
    // A document of nothing (a trailing `---`, comments only) is skipped, not an error.
    if (value === null || value === undefined) return;
    values.push(value);
  });
  if (issues.length > 0) throw new ValidationError(issues);
  if (values.length === 0) throw new ValidationError([{ path: "", message: `${source} holds no policy document; expected at least one {service, subsets, routes}` }]);
  if (values.length > MAX_DOCUMENTS) throw new ValidationError([{ path: "", message: `${source} holds ${values.length} documents; at most ${MAX_DOCUMENTS} are allowed` }]);
  const documents = parseDocumentList(values, values.length > 1, issues);
  if (issues.length > 0) throw new ValidationError(issues);
  return Object.freeze(documents);
}

/**
 * Validates the body of `PUT /v1/services/{service}/policy`:
 * `{subsets, routes, outlierDetection, maxRequests, loadBalancing,
 * dnsFallback, failover}` (each optional), with a `service` key allowed only when it equals the
 * path's. Throws one ValidationError listing every problem.
 */
export function parsePolicyBody(service: string, body: unknown): PolicyDocument {
  const issues: Issue[] = [];
  if (!DNS_LABEL.test(service)) issues.push({ path: "service", message: `must be ${DNS_LABEL_RULE}, got ${show(service)}` });
  const result = bodySchema.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, []));
  issues.push(...referenceIssues(body, []), ...clusterPolicyIssues(body, []));
  const given = field(body, "service");
  if (typeof given === "string" && DNS_LABEL.test(given) && given !== service) {
    issues.push({ path: "service", message: `must equal the service in the URL (${show(service)}) or be left out, got ${show(given)}` });
  }
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  return deepFreeze({ service, policy: canonicalPolicy(result.data) });
}

/**
 * Validates the body of `POST /v1/policies` and `POST /v1/policies/diff`:
 * `{documents: [ {service, subsets, routes}, … ]}`, 1–256 documents, one per
 * service. Paths are `documents[i]…`. Throws one ValidationError listing every problem.
 */
export function parsePolicyList(body: unknown): readonly PolicyDocument[] {
  const LIST_RULE = "a JSON object {documents: [ {service, subsets, routes}, … ]} with 1 to 256 documents";
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ValidationError([{ path: "body", message: `must be ${LIST_RULE}, got ${body === undefined ? "no body" : show(body)}` }]);
  const issues: Issue[] = Object.keys(body)
    .filter((key) => key !== "documents")
    .map((key) => ({ path: key, message: "unknown field; allowed fields are documents" }));
  const documents = (body as { documents?: unknown }).documents;
  if (!Array.isArray(documents) || documents.length === 0 || documents.length > MAX_DOCUMENTS) {
    issues.push({ path: "documents", message: `must be a list of 1 to ${MAX_DOCUMENTS} documents {service, subsets, routes}, got ${show(documents)}` });
    throw new ValidationError(issues);
  }
  const parsed = parseDocumentList(documents, true, issues);
  if (issues.length > 0) throw new ValidationError(issues);
  return Object.freeze(parsed);
}
