/** gRPC status codes the xDS server ends streams with. */
export const StreamStatus = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/**
 * What a protocol stream, SotW or Delta, needs from the wire: the xDS state
 * machines run on this, never on gRPC directly, so they can be driven by
 * tests and wrapped by fault decorators.
 */
export interface StreamTransport {
  /** Remote address, for logs and `GET /v1/clients`. */
  readonly peer: string;
  /** Writes one encoded response (see wire.ts), unchanged. */
  send(response: Uint8Array): void;
  /** Ends the stream with a gRPC status. Further sends are dropped. */
  end(code: number, details: string): void;
}
