/**
 * The vocabulary the per-type modules share: reading decoded messages
 * defensively, and reporting a problem at a field path.
 *
 * src/proto/types.ts declares only the fields steadymesh writes, but a
 * decoded message carries every field of its proto (scalars and repeated
 * fields with their defaults, unset sub-messages and oneof members absent).
 * The validators read those extra fields through these helpers, so a field
 * the types do not declare is still checked and never trusted blindly.
 */
import type { Issue } from "../errors/index.js";
import type { Any } from "../proto/index.js";

/** A decoded protobuf message, read field by field. */
export type Message = { readonly [field: string]: unknown };

/** `value` when it is a message (a plain object), else undefined. */
export function asMessage(value: unknown): Message | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) return undefined;
  return value as Message;
}

/** The sub-message `name` of `message`, or undefined when it is unset. */
export function sub(message: Message | undefined, name: string): Message | undefined {
  return asMessage(message?.[name]);
}

/** The messages of a repeated field; [] when the field is absent. */
export function messages(value: unknown): Message[] {
  return Array.isArray(value) ? value.map((item) => asMessage(item) ?? {}) : [];
}

/** The strings of a repeated string field; [] when the field is absent. */
export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map((item) => (typeof item === "string" ? item : String(item))) : [];
}

/** A string field; "" when absent, as proto3 reads it. */
export function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A numeric field; undefined when absent or not a number. */
export function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/** The `value` of a wrapper message (UInt32Value, UInt64Value, BoolValue…) held in `name`; undefined when unset. */
export function wrapped(message: Message | undefined, name: string): unknown {
  return sub(message, name)?.["value"];
}

/** Whether oneof member (or optional sub-message) `name` is set. */
export function isSet(message: Message | undefined, name: string): boolean {
  return message?.[name] !== undefined;
}

/** The first of `names` that is set in `message`: which member of a oneof holds the value. */
export function whichOf(message: Message | undefined, names: readonly string[]): string | undefined {
  return names.find((name) => isSet(message, name));
}

/** A google.protobuf.Any field, or undefined when it is unset or malformed. */
export function anyOf(message: Message | undefined, name: string): Any | undefined {
  const any = sub(message, name);
  const value = any?.["value"];
  if (!any || typeof any["type_url"] !== "string" || !(value instanceof Uint8Array)) return undefined;
  return { type_url: any["type_url"], value };
}

/** An enum field as its name; a number the protos do not name stays a number, shown as is. */
export function enumName(value: unknown): string {
  return typeof value === "string" ? value : String(value);
}

/**
 * Where a validator reports problems. Field paths are relative to the
 * resource: `lb_policy`, `endpoints[0].locality`; "" names the resource itself.
 */
export interface Findings {
  add(field: string, message: string): void;
  /** The same findings, with every field path prefixed by `prefix` (`api_listener.api_listener`). */
  at(prefix: string): Findings;
  /**
   * Records the message of a codec error the validator caught and reported in
   * its own words, so that the same failure, met again by the consistency
   * check, is not reported twice.
   */
  noteDecodeError(message: string): void;
}

/** `a` + `b` as one field path: `a.b`, or `a[0]` when `b` is an index. */
export function joinPath(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return b.startsWith("[") ? `${a}${b}` : `${a}.${b}`;
}

/**
 * Findings that append to `issues`, with paths relative to the resource
 * (`lb_policy`, "" for the resource itself); `noted` collects the codec
 * errors the validators reported in their own words.
 */
export function collectFindings(issues: Issue[], noted: Set<string> = new Set(), prefix = ""): Findings {
  return {
    add: (field, message) => issues.push({ path: joinPath(prefix, field), message }),
    at: (more) => collectFindings(issues, noted, joinPath(prefix, more)),
    noteDecodeError: (message) => noted.add(message),
  };
}
