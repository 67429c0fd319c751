import type { NodeInfo, NodeSelector } from "./model.js";

/**
 * True when `node` matches any of `selectors`: a node id glob (`*` any run of
 * characters, `?` exactly one; everything else literal, case-sensitive) or a
 * metadata key whose value, as a string, equals the selector's value.
 */
export function selectsNode(selectors: readonly NodeSelector[], node: NodeInfo): boolean {
  return selectors.some((selector) => matches(selector, node));
}

/** `node-id=canary-*` or `metadata.group=canary`, the way `serve --canary` spells selectors. */
export function describeSelector(selector: NodeSelector): string {
  return selector.kind === "node-id" ? `node-id=${selector.glob}` : `metadata.${selector.key}=${selector.value}`;
}

function matches(selector: NodeSelector, node: NodeInfo): boolean {
  if (selector.kind === "node-id") return globToRegExp(selector.glob).test(node.id);
  const value = node.metadata[selector.key];
  if (typeof value === "string") return value === selector.value;
  if (typeof value === "number" || typeof value === "boolean") return String(value) === selector.value;
  return false;
}

const compiled = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    const body = [...glob].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
    re = new RegExp(`^${body}$`, "s");
    compiled.set(glob, re);
  }
  return re;
}
