/**
 * gRPC status codes by name, as the gRPC spec (doc/statuscodes.md) and every
 * gRPC library spell them. Kept here rather than taken from @grpc/grpc-js so
 * the fault layer does not load gRPC; a unit test checks the two agree.
 */
export const GRPC_STATUS_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GRPC_STATUS_CODES;

export const GRPC_STATUS_NAMES = Object.keys(GRPC_STATUS_CODES) as readonly GrpcStatusName[] as readonly [GrpcStatusName, ...GrpcStatusName[]];
