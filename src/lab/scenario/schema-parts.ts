import { z } from "zod";
import { rule } from "./issues.js";

/** The zod building blocks of the scenario schema: each message says what is allowed and shows the value. */

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const LABEL_RULE = "a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-')";

/** A strict object: an unknown field is an issue (its message names the allowed fields; see allowedFields). */
export function object<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, rule(`an object with the fields ${Object.keys(shape).join(", ")}`));
}
export function text(what: string) {
  return z.string(rule(what)).trim().min(1, rule(what));
}
export function intIn(min: number, max: number) {
  const allowed = rule(`an integer from ${min} to ${max}`);
  return z.int(allowed).min(min, allowed).max(max, allowed);
}
export function numberIn(min: number, max: number, minExclusive = false) {
  const allowed = rule(`a number ${minExclusive ? "above" : "from"} ${min} ${minExclusive ? "and at most" : "to"} ${max}`);
  const base = z.number(allowed);
  return (minExclusive ? base.gt(min, allowed) : base.min(min, allowed)).max(max, allowed);
}
export function list<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, rule(`a list of ${what}`));
}

export const label = z.string(rule(LABEL_RULE)).regex(DNS_LABEL, rule(LABEL_RULE));
export const flag = z.boolean(rule("true or false"));
