import { stringify } from "yaml";
import type { PolicyDocument, TrafficPolicy } from "./policy.js";
import { policyWire } from "./policy-wire.js";

/** What applying one document would do to its service's stored policy. */
export interface PolicyDiff {
  readonly service: string;
  readonly change: "create" | "update" | "unchanged";
  /**
   * The canonical YAML of the old and the new document, line by line: `- `
   * for a line only the old has, `+ ` for one only the new has, two spaces
   * for a line both keep. Empty when unchanged.
   */
  readonly lines: readonly string[];
}

/** Beyond this many lines on a side, a diff shows the old document removed and the new added rather than matching lines. */
const MAX_MATCHED_LINES = 4000;

/**
 * A document as YAML with its `service` key first and fields in canonical
 * order (canonicalPolicy), so equal policies render alike: `policy get`
 * prints this and `policy diff` compares it.
 */
export function policyYaml(document: PolicyDocument): string {
  return stringify(policyWire(document), { lineWidth: 0 });
}

/** Pure: compares `document` with the policy `current` (undefined when the service has none). */
export function diffPolicy(document: PolicyDocument, current: TrafficPolicy | undefined): PolicyDiff {
  const after = policyYaml(document).trimEnd().split("\n");
  if (current === undefined) return { service: document.service, change: "create", lines: after.map((line) => `+ ${line}`) };
  const before = policyYaml({ service: document.service, policy: current }).trimEnd().split("\n");
  if (before.join("\n") === after.join("\n")) return { service: document.service, change: "unchanged", lines: [] };
  return { service: document.service, change: "update", lines: lineDiff(before, after) };
}

/** A longest-common-subsequence line diff; deterministic (removals before additions at each step). */
function lineDiff(before: readonly string[], after: readonly string[]): string[] {
  if (before.length > MAX_MATCHED_LINES || after.length > MAX_MATCHED_LINES) return [...before.map((l) => `- ${l}`), ...after.map((l) => `+ ${l}`)];
  const width = after.length + 1;
  // common[i * width + j]: length of the LCS of before[i..] and after[j..].
  const common = new Uint16Array((before.length + 1) * width);
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i * width + j] = before[i] === after[j] ? (common[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(common[(i + 1) * width + j] ?? 0, common[i * width + j + 1] ?? 0);
    }
  }
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      lines.push(`  ${before[i++] ?? ""}`);
      j++;
    } else if (j >= after.length || (i < before.length && (common[(i + 1) * width + j] ?? 0) >= (common[i * width + j + 1] ?? 0))) {
      lines.push(`- ${before[i++] ?? ""}`);
    } else {
      lines.push(`+ ${after[j++] ?? ""}`);
    }
  }
  return lines;
}
