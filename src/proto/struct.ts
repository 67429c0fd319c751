/**
 * google.protobuf.Struct ⇄ plain JSON. The rest of the code sees node
 * metadata and filter metadata as JSON; only the codec sees Struct/Value.
 */
import type { Issue } from "../errors/index.js";
import type { JsonObject, JsonValue } from "./types.js";

/**
 * A Struct as protobufjs `fromObject` / `toObject` see it. protobufjs
 * serves google/protobuf/struct.proto from its own bundled definition, whose
 * Value fields are camelCase even with `keepCase` (the wire is the same).
 */
export interface StructObject {
  fields?: Record<string, ValueObject>;
}
interface ValueObject {
  nullValue?: string | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructObject;
  listValue?: { values?: ValueObject[] };
}

/**
 * Plain JSON object → Struct, keys sorted so equal content encodes to equal
 * bytes. Anything that is not JSON (undefined, functions, NaN, class
 * instances, …) is reported in `issues` at its path and left out.
 */
export function jsonToStruct(json: object, path: string, issues: Issue[]): StructObject {
  const fields: Record<string, ValueObject> = {};
  for (const key of Object.keys(json).sort()) {
    const value = toValue((json as Record<string, unknown>)[key], `${path}.${key}`, issues);
    if (value) setOwn(fields, key, value);
  }
  return { fields };
}

function toValue(value: unknown, path: string, issues: Issue[]): ValueObject | undefined {
  if (value === null) return { nullValue: "NULL_VALUE" };
  switch (typeof value) {
    case "boolean":
      return { boolValue: value };
    case "string":
      return { stringValue: value };
    case "number":
      if (Number.isFinite(value)) return { numberValue: value };
      break;
    case "object":
      if (Array.isArray(value)) {
        const values = value.map((item, i) => toValue(item, `${path}[${i}]`, issues) ?? { nullValue: "NULL_VALUE" });
        return { listValue: { values } };
      }
      if (isPlainObject(value)) return { structValue: jsonToStruct(value, path, issues) };
      break;
  }
  issues.push({ path, message: `must be JSON (null, boolean, finite number, string, array or plain object), got ${describe(value)}` });
  return undefined;
}

/** Struct as decoded by protobufjs (`toObject` without oneof defaults) → plain JSON object. */
export function structToJson(struct: StructObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) setOwn(out, key, fromValue(value));
  return out;
}

function fromValue(value: ValueObject): JsonValue {
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.numberValue !== undefined) return value.numberValue;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.structValue) return structToJson(value.structValue);
  if (value.listValue) return (value.listValue.values ?? []).map(fromValue);
  // nullValue, or a Value with no kind set: JSON null either way.
  return null;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets an own property even for the key `__proto__`, where plain assignment would set the prototype. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** google.protobuf.Struct, told by name parts: `fullName` rebuilds a string on every call. */
export function isStructType(type: { name: string; parent: { name: string; parent: { name: string } | null } | null }): boolean {
  return type.name === "Struct" && type.parent?.name === "protobuf" && type.parent.parent?.name === "google";
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "no prototype"})`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}
