import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/index.js";
import type { DemoProto, PlayReply, PlayRequest } from "./proto.js";
import { RpcFailure, unaryHandler } from "./rpc.js";

/**
 * The Playback service: a stream URL for any track, for any caller that
 * presents a session token (the gateway has already checked it).
 */
export function createPlaybackService(proto: DemoProto, id: string, logger: Logger): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const Play = unaryHandler<PlayRequest, PlayReply>(logger, async ({ sessionToken, trackId }) => {
    if (sessionToken === "") throw new RpcFailure(grpc.status.UNAUTHENTICATED, "session_token is empty");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(trackId)) throw new RpcFailure(grpc.status.INVALID_ARGUMENT, "track_id must be 1-64 characters of [A-Za-z0-9_-]");
    return { streamUrl: `https://audio.demo.invalid/tracks/${trackId}.ogg`, servedBy: id };
  });
  return [proto.Playback.service, { Play }];
}
