/**
 * Finishes a protobufjs `toObject` result (made with `defaults: true`) into
 * the shapes types.ts promises, in place:
 * - unset sub-messages, which protobufjs sets to null, are removed;
 * - google.protobuf.Struct fields become plain JSON objects;
 * - bytes become Buffers (views, no copy) rather than bare Uint8Arrays.
 */
import protobuf from "protobufjs";
import { isStructType, structToJson, type StructObject } from "./struct.js";

/** Finishes one decoded object of `type` in place. */
export type PlainFinisher = (type: protobuf.Type, object: Record<string, unknown>) => void;

/** A field that needs finishing; scalar, enum and string fields need none. */
interface FieldStep {
  readonly name: string;
  readonly shape: "single" | "repeated" | "map";
  readonly convert: (value: unknown) => unknown;
}

/** A finisher that memoizes, per message type, which fields need work (decoding is on the hot path). */
export function createPlainFinisher(): PlainFinisher {
  const plans = new WeakMap<protobuf.Type, readonly FieldStep[]>();
  const finish: PlainFinisher = (type, object) => {
    let plan = plans.get(type);
    if (!plan) {
      plan = type.fieldsArray.flatMap((field) => stepFor(field, finish));
      plans.set(type, plan);
    }
    for (const step of plan) {
      const value = object[step.name];
      if (value === null || value === undefined) {
        delete object[step.name];
      } else if (step.shape === "single") {
        object[step.name] = step.convert(value);
      } else if (step.shape === "repeated") {
        object[step.name] = (value as unknown[]).map(step.convert);
      } else {
        const map = value as Record<string, unknown>;
        for (const key of Object.keys(map)) map[key] = step.convert(map[key]);
      }
    }
  };
  return finish;
}

function stepFor(field: protobuf.Field, finish: PlainFinisher): FieldStep[] {
  const shape = field.map ? "map" : field.repeated ? "repeated" : "single";
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (isStructType(resolved)) return [{ name: field.name, shape, convert: (value) => structToJson(value as StructObject) }];
    const convert = (value: unknown) => {
      finish(resolved, value as Record<string, unknown>);
      return value;
    };
    return [{ name: field.name, shape, convert }];
  }
  if (field.type === "bytes") return [{ name: field.name, shape, convert: (value) => toBuffer(value as Uint8Array) }];
  return [];
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
