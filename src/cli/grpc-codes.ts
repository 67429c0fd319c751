/** gRPC status names by code, for NACK error details (google.rpc.Status codes 0-16). */
const GRPC_CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** `INVALID_ARGUMENT` for 3; `code 42` for a code gRPC does not define. */
export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? `code ${code}`;
}
