/**
 * Checks a plain object against its protobuf message type and returns a
 * canonical copy for protobufjs `fromObject`. protobufjs silently drops
 * unknown fields and unknown enum names and coerces wrongly typed scalars;
 * here each of those is an Issue with its path, all collected at once.
 *
 * The copy is canonical so that equal content gives equal bytes:
 * map and Struct keys are sorted, null/undefined fields are left out, and
 * scalars without presence that hold their default ("" / 0 / false / first
 * enum value / empty bytes) are left out, because protobufjs would otherwise
 * write them explicitly (`lb_policy: "ROUND_ROBIN"` would differ from no
 * lb_policy). Sub-messages are always kept, even when empty: their presence
 * means something (`ads: {}`, an empty `locality`).
 */
import protobuf from "protobufjs";
import type { Issue } from "../errors/index.js";
import { describe, isPlainObject, isStructType, jsonToStruct, setOwn } from "./struct.js";

const INT32_RANGE: Record<string, readonly [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};
const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** Returns the canonical copy; every problem is appended to `issues` (the copy is then unusable). */
export function canonicalMessage(type: protobuf.Type, value: unknown, path: string, issues: Issue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(value)) {
    issues.push({ path, message: `must be a plain object (${typeName(type)}), got ${describe(value)}` });
    return out;
  }
  checkOneofs(type, value, path, issues);
  for (const key of Object.keys(value)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const field = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
    if (!field) {
      issues.push({ path: fieldPath, message: `unknown field of ${typeName(type)}` });
      continue;
    }
    const fieldValue = value[key];
    if (fieldValue === undefined || fieldValue === null) continue;
    const canonical = canonicalField(field, fieldValue, fieldPath, issues);
    if (canonical !== undefined) setOwn(out, key, canonical);
  }
  return out;
}

function canonicalField(field: protobuf.Field, value: unknown, path: string, issues: Issue[]): unknown {
  if (field instanceof protobuf.MapField) return canonicalMap(field, value, path, issues);
  if (field.repeated) {
    if (!Array.isArray(value)) {
      issues.push({ path, message: `must be an array, got ${describe(value)}` });
      return undefined;
    }
    return value.map((item, i) => canonicalValue(field, item, `${path}[${i}]`, issues));
  }
  const canonical = canonicalValue(field, value, path, issues);
  const scalar = !(field.resolvedType instanceof protobuf.Type);
  return scalar && !field.hasPresence && isDefault(field, canonical) ? undefined : canonical;
}

function canonicalMap(field: protobuf.MapField, value: unknown, path: string, issues: Issue[]): unknown {
  if (!isPlainObject(value)) {
    issues.push({ path, message: `must be a plain object (a map), got ${describe(value)}` });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const entryPath = `${path}[${JSON.stringify(key)}]`;
    if (field.keyType !== "string" && field.keyType !== "bool" && !/^-?\d+$/.test(key)) {
      issues.push({ path: entryPath, message: `map key must be an integer (${field.keyType})` });
      continue;
    }
    setOwn(out, key, canonicalValue(field, value[key], entryPath, issues));
  }
  return out;
}

/** One value of a field: a message, an enum or a scalar (for repeated/map fields, one element). */
function canonicalValue(field: protobuf.FieldBase, value: unknown, path: string, issues: Issue[]): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (!isStructType(resolved)) return canonicalMessage(resolved, value, path, issues);
    if (isPlainObject(value)) return jsonToStruct(value, path, issues);
    issues.push({ path, message: `must be a plain JSON object (google.protobuf.Struct), got ${describe(value)}` });
    return undefined;
  }
  if (resolved instanceof protobuf.Enum) return checkEnum(resolved, value, path, issues);
  const problem = scalarProblem(field.type, value);
  if (problem) issues.push({ path, message: `${problem}, got ${describe(value)}` });
  return value;
}

function checkEnum(type: protobuf.Enum, value: unknown, path: string, issues: Issue[]): unknown {
  if (typeof value === "string" && Object.hasOwn(type.values, value)) return value;
  // Open enums: a number the protos do not name is still valid on the wire.
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) < 2 ** 31) return value;
  const names = Object.keys(type.values);
  const shown = names.length > 12 ? `${names.slice(0, 12).join(", ")}, …` : names.join(", ");
  issues.push({ path, message: `must be one of ${shown} (${typeName(type)}), got ${describe(value)}` });
  return value;
}

/** Why `value` cannot be a protobuf scalar of `type`, or undefined when it can. */
function scalarProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : "must be a string";
    case "bool":
      return typeof value === "boolean" ? undefined : "must be a boolean";
    case "bytes":
      return value instanceof Uint8Array ? undefined : "must be bytes (Uint8Array)";
    case "double":
    case "float":
      return typeof value === "number" ? undefined : "must be a number";
  }
  const range = INT32_RANGE[type];
  if (range) {
    const ok = typeof value === "number" && Number.isInteger(value) && value >= range[0] && value <= range[1];
    return ok ? undefined : `must be an integer from ${range[0]} to ${range[1]} (${type})`;
  }
  if (LONG_TYPES.has(type)) {
    const unsigned = type.startsWith("u") || type === "fixed64";
    const ok =
      (typeof value === "number" && Number.isSafeInteger(value) && (!unsigned || value >= 0)) ||
      (typeof value === "string" && (unsigned ? /^\d+$/ : /^-?\d+$/).test(value));
    return ok ? undefined : `must be a safe integer or a decimal string (${type})`;
  }
  return `has unsupported scalar type ${type}`;
}

function isDefault(field: protobuf.FieldBase, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return value === 0 || (typeof value === "string" && resolved.values[value] === 0);
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === "string") return value === "" || (field.long && /^-?0+$/.test(value));
  return value === 0 || value === false;
}

/** Setting two members of one oneof would encode both, and the decoder would silently keep the last. */
function checkOneofs(type: protobuf.Type, value: Record<string, unknown>, path: string, issues: Issue[]): void {
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => value[name] !== undefined && value[name] !== null);
    if (set.length > 1) {
      issues.push({ path, message: `sets ${set.join(" and ")}, but they are one oneof (${oneof.name}); set at most one` });
    }
  }
}

function typeName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, "");
}
