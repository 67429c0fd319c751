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
  /** The push guard's generation the last response came from, and the one the client last ACKed (absent when unknown). */
  readonly sentGeneration?: number;
  readonly ackedGeneration?: number;
  readonly lastNack?: NackStatus;
}

export interface NackStatus {
  /** ISO 8601. */
  readonly at: string;
  readonly nonce: string;
  /** The version the client kept (last accepted), as sent in the NACK. */
  readonly version: string;
  /** The client's `error_detail`. */
  readonly errorDetail: { readonly code: number; readonly message: string };
  /** The generation of the response it refused, when known. */
  readonly generation?: number;
}
