import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** Where the shipped alert rules and dashboard live, from the repository root. */
export const ALERTS_FILE = "ops/prometheus/alerts.yml";
export const DASHBOARD_FILE = "ops/grafana/steadymesh.json";

/** PromQL words that look like names but are not metrics. */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: every identifier that is not
 * a function (followed by `(`), a keyword, a label (inside `{…}` or the
 * list of `by (…)` and its kin), a string, a range or a Grafana variable.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (match[2] || KEYWORDS.has(match[1]!.toLowerCase())) continue;
    names.add(match[1]!);
  }
  return [...names].sort();
}

/** Every rule's `expr` in the alert rules file, with the rule's name. */
export function ruleExpressions(text = readFileSync(ALERTS_FILE, "utf8")): { readonly rule: string; readonly expr: string }[] {
  const doc = parse(text) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((group) => group.rules.map((rule) => ({ rule: rule.alert ?? rule.record ?? "?", expr: String(rule.expr) })));
}

/** Every query of the dashboard: each panel target's `expr` (rows' nested panels too), and each templating query. */
export function dashboardExpressions(text = readFileSync(DASHBOARD_FILE, "utf8")): { readonly panel: string; readonly expr: string }[] {
  type Panel = { title?: string; panels?: Panel[]; targets?: { expr?: string }[] };
  const doc = JSON.parse(text) as { panels: Panel[]; templating?: { list: { name: string; query?: unknown }[] } };
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ panel: panel.title ?? "?", expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(doc.panels);
  for (const variable of doc.templating?.list ?? []) {
    const query = typeof variable.query === "string" ? variable.query : (variable.query as { query?: string } | undefined)?.query;
    // label_values(metric, label): the metric is the first argument.
    const match = query && /^label_values\(\s*([^,]+),/.exec(query);
    if (match) out.push({ panel: `variable ${variable.name}`, expr: match[1]! });
  }
  return out;
}

/**
 * The names a Prometheus text exposition makes queryable: each `# TYPE`d
 * family, plus `_bucket`, `_sum` and `_count` for a histogram and `_sum`
 * and `_count` for a summary, and every sample's name.
 */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name! + suffix);
      if (kind === "summary") for (const suffix of ["_sum", "_count"]) names.add(name! + suffix);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}
