import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/index.js";
import type { DemoProto, LoginReply, LoginRequest } from "./proto.js";
import { RpcFailure, unaryHandler } from "./rpc.js";
import type { SessionTokens } from "./session-token.js";
import { callUpstream, type Upstream } from "./upstream.js";

export interface LoginServiceDeps {
  readonly proto: DemoProto;
  /** How this instance reaches `accounts`. */
  readonly accounts: Upstream;
  readonly tokens: SessionTokens;
  /** Deadline of each call to accounts. */
  readonly deadlineMs: number;
  readonly id: string;
  readonly logger: Logger;
  /** Fail every call with this code, before asking accounts: a bad release, for the lab. */
  readonly failWith?: grpc.status | undefined;
}

/**
 * The Login service: CheckPassword, then LookupUser for the user id, both on
 * accounts; then a session token. A wrong user or password is
 * UNAUTHENTICATED; a failed accounts call keeps its code, with
 * `accounts: ` in front of its details. With `failWith`, every call fails
 * with that code (details name the instance).
 */
export function createLoginService(deps: LoginServiceDeps): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const { proto, accounts, deadlineMs } = deps;
  const Login = unaryHandler<LoginRequest, LoginReply>(deps.logger, async ({ user, password }) => {
    if (deps.failWith !== undefined) throw new RpcFailure(deps.failWith, `login instance ${deps.id} fails every call (started with --fail)`);
    const check = await callUpstream("accounts", accounts, proto.methods.checkPassword, { user, password }, deadlineMs);
    if (!check.ok) throw new RpcFailure(grpc.status.UNAUTHENTICATED, "wrong user or password");
    const { userId } = await callUpstream("accounts", accounts, proto.methods.lookupUser, { user }, deadlineMs);
    return { sessionToken: deps.tokens.issue(userId), userId, servedBy: deps.id };
  });
  return [proto.Login.service, { Login }];
}
