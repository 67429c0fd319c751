import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/index.js";

/**
 * A failed RPC as the demo passes it around: the gRPC status code and its
 * details. Clients reject with it, handlers throw it, and each edge (a gRPC
 * handler, the gateway's HTTP answer) turns it into its own status.
 */
export class RpcFailure extends Error {
  readonly code: grpc.status;
  readonly details: string;
  constructor(code: grpc.status, details: string, options?: { cause?: unknown }) {
    super(`${statusName(code)}: ${details}`, options);
    this.code = code;
    this.details = details;
    this.name = "RpcFailure";
  }

  /** `UNAVAILABLE`, `NOT_FOUND`, …: the name the lab counts errors by. */
  get codeName(): string {
    return statusName(this.code);
  }
}

/** The name of a gRPC status code; `UNKNOWN(99)` for a number outside the enum. */
export function statusName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return name ?? `UNKNOWN(${code})`;
}

/** One unary call with a deadline; rejects with RpcFailure. */
export function callUnary<Req, Res>(client: grpc.Client, method: grpc.MethodDefinition<Req, Res>, request: Req, deadlineMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      { deadline: Date.now() + deadlineMs },
      (err, reply) => {
        if (err) reject(new RpcFailure(err.code, err.details, { cause: err }));
        else if (reply === undefined) reject(new RpcFailure(grpc.status.INTERNAL, `${method.path} returned no reply`));
        else resolve(reply);
      },
    );
  });
}

/**
 * A failure of a call this process made, as this process reports it to its
 * own caller: the same code (so UNAVAILABLE, DEADLINE_EXCEEDED or a leaked
 * NOT_FOUND stay visible end to end), with the upstream's name in front of
 * the details.
 */
export function upstreamFailure(upstream: string, err: unknown): RpcFailure {
  if (err instanceof RpcFailure) return new RpcFailure(err.code, `${upstream}: ${err.details}`, { cause: err });
  return new RpcFailure(grpc.status.INTERNAL, `${upstream}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * A grpc-js unary handler from an async function. An RpcFailure becomes its
 * status; anything else is a bug, logged and answered with INTERNAL.
 */
export function unaryHandler<Req, Res>(logger: Logger, fn: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (reply) => callback(null, reply),
      (err: unknown) => {
        if (err instanceof RpcFailure) {
          callback({ code: err.code, details: err.details });
          return;
        }
        logger.error({ err }, "handler failed unexpectedly");
        callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
      },
    );
  };
}
