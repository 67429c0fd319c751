import { SteadyError, formatIssues, type Issue } from "../errors/index.js";

/**
 * An object handed to the encoder does not fit its protobuf message type:
 * an unknown (often misspelled) field, a value of the wrong kind, an enum
 * name the type does not define, or two members of one oneof. protobufjs
 * would silently drop or coerce these, so the codec refuses instead.
 * Our own code builds every message, so this is a bug: code `internal`.
 */
export class MessageShapeError extends SteadyError {
  /** Fully qualified message type, e.g. `envoy.config.cluster.v3.Cluster`. */
  readonly typeName: string;
  /** Every problem found, each with its path inside the message. */
  readonly issues: readonly Issue[];
  constructor(typeName: string, issues: readonly Issue[], options?: { cause?: unknown }) {
    super("internal", `cannot encode ${typeName}: ${formatIssues(issues)}`, options);
    this.typeName = typeName;
    this.issues = issues;
  }
}

/**
 * Bytes that are not a valid encoding of the expected message, or an Any
 * that holds a different type than expected. Such bytes come from a peer,
 * so the code is `invalid-argument`.
 */
export class ProtoDecodeError extends SteadyError {
  readonly typeName: string;
  constructor(typeName: string, message: string, options?: { cause?: unknown }) {
    super("invalid-argument", `cannot decode ${typeName}: ${message}`, options);
    this.typeName = typeName;
  }
}

/** The envoy protos could not be found or parsed; the installation is broken. */
export class ProtoLoadError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("internal", message, options);
  }
}
