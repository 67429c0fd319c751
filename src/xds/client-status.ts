import { clip } from "../log/index.js";

/** The most subscribed names a type's status lists (`subscribedCount` says how many there are). */
export const STATUS_NAMES_SHOWN = 100;

/** What the server knows of one connected xDS client; shown by `GET /v1/clients` and `steadymesh status`. */
export interface ClientStatus {
  /** Unique per ADS stream, e.g. `s7`. */
  readonly streamId: string;
  readonly nodeId: string;
  readonly cluster: string;
  /** The node's metadata Struct as JSON ({} when absent); node groups can be chosen by it. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `user_agent_name user_agent_version` from the node, e.g. `grpc-node-js 1.14.7`. */
  readonly userAgent: string;
  /** Remote address of the stream. */
  readonly peer: string;
  /** ISO 8601. */
  readonly connectedAt: string;
  /** Which ADS variant the stream speaks: State-of-the-World or Delta (incremental). */
  readonly protocol: "sotw" | "delta";
  /** Keyed by short type name (`LDS`, `RDS`, `CDS`, `EDS`) or the raw type URL for unknown types. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

export interface TypeStatus {
  readonly typeUrl: string;
  /**
   * Subscribed resource names in order, `*` first for a wildcard
   * subscription; only the first STATUS_NAMES_SHOWN of them.
   */
  readonly subscribed: readonly string[];
  /** How many there are in all (`*` counts as one). */
  readonly subscribedCount?: number;
  /** The version_info of the last response sent, and its nonce. */
  readonly sentVersion: string;
  readonly sentNonce: string;
  /** The version_info the client last ACKed; empty before the first ACK. */
  readonly ackedVersion: string;
  readonly ackedAt?: string;
  /**
   * The watcher's tag of the last response sent, and of the one the client
   * last ACKed (absent when untagged). The push guard tags with its
   * generation ids, hence the names, which are the admin API's.
   */
  readonly sentGeneration?: number;
  readonly ackedGeneration?: number;
  readonly lastNack?: NackStatus;
  /**
   * Subscribed names the snapshot this client is served does not have (a
   * typo such as `gretter`, or a service since removed), sorted; only the
   * first STATUS_NAMES_SHOWN. Absent when there are none.
   */
  readonly unknown?: readonly string[];
  /** How many unknown names there are in all. */
  readonly unknownCount?: number;
}

export interface NackStatus {
  /** ISO 8601. */
  readonly at: string;
  readonly nonce: string;
  /** The version the client kept (last accepted), as sent in the NACK. */
  readonly version: string;
  /** The client's `error_detail`. */
  readonly errorDetail: { readonly code: number; readonly message: string };
  /** The tag (the push guard's generation) of the response it refused, when it had one. */
  readonly generation?: number;
}

/** The longest a text field of a client's status is shown: node id, cluster, user agent, peer, versions, type URLs, each name, each metadata key and value. */
export const STATUS_TEXT_CHARS = 256;
/** The longest a NACK's error message is shown. */
export const STATUS_NACK_CHARS = 1024;
/** The most node metadata keys shown; key `…` says how many more there are. */
export const STATUS_METADATA_KEYS = 32;

/**
 * `status` as `GET /v1/clients` shows it: every field a client chose clipped
 * (see clip: a marker says how much was cut), so that one client cannot make
 * the answer as large as whatever it sent. A metadata value that is not a
 * string and is longer than STATUS_TEXT_CHARS as JSON is shown as that JSON,
 * clipped, as a string.
 */
export function boundedClientStatus(status: ClientStatus): ClientStatus {
  const types: Record<string, TypeStatus> = {};
  for (const [key, type] of Object.entries(status.types)) types[text(key)] = boundedTypeStatus(type);
  return {
    ...status,
    nodeId: text(status.nodeId),
    cluster: text(status.cluster),
    metadata: boundedMetadata(status.metadata),
    userAgent: text(status.userAgent),
    peer: text(status.peer),
    types,
  };
}

function boundedTypeStatus(type: TypeStatus): TypeStatus {
  const { lastNack } = type;
  return {
    ...type,
    typeUrl: text(type.typeUrl),
    subscribed: type.subscribed.slice(0, STATUS_NAMES_SHOWN).map(text),
    ...(type.unknown && { unknown: type.unknown.slice(0, STATUS_NAMES_SHOWN).map(text) }),
    sentVersion: text(type.sentVersion),
    sentNonce: text(type.sentNonce),
    ackedVersion: text(type.ackedVersion),
    ...(lastNack && {
      lastNack: { ...lastNack, nonce: text(lastNack.nonce), version: text(lastNack.version), errorDetail: { code: lastNack.errorDetail.code, message: clip(lastNack.errorDetail.message, STATUS_NACK_CHARS) } },
    }),
  };
}

function boundedMetadata(metadata: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keys = Object.keys(metadata);
  const shown: Record<string, unknown> = {};
  for (const key of keys.slice(0, STATUS_METADATA_KEYS)) {
    const value = metadata[key];
    const json = typeof value === "string" ? undefined : JSON.stringify(value) ?? "";
    shown[text(key)] = typeof value === "string" ? text(value) : json!.length > STATUS_TEXT_CHARS ? text(json!) : value;
  }
  if (keys.length > STATUS_METADATA_KEYS) shown["…"] = `${keys.length - STATUS_METADATA_KEYS} more keys`;
  return shown;
}

function text(value: string): string {
  return clip(value, STATUS_TEXT_CHARS);
}
