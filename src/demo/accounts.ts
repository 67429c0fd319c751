import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/index.js";
import type { CheckPasswordReply, CheckPasswordRequest, DemoProto, LookupUserReply, LookupUserRequest } from "./proto.js";
import { RpcFailure, unaryHandler } from "./rpc.js";
import type { UserTable } from "./user-table.js";

/** The Accounts service implementation; replies carry `servedBy: id`. */
export function createAccountsService(proto: DemoProto, users: UserTable, id: string, logger: Logger): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const LookupUser = unaryHandler<LookupUserRequest, LookupUserReply>(logger, async ({ user }) => {
    const entry = users.lookup(user);
    if (!entry) throw new RpcFailure(grpc.status.NOT_FOUND, `no user ${JSON.stringify(user)}`);
    return { ...entry, servedBy: id };
  });
  const CheckPassword = unaryHandler<CheckPasswordRequest, CheckPasswordReply>(logger, async ({ user, password }) => ({
    ok: users.checkPassword(user, password),
    servedBy: id,
  }));
  return [proto.Accounts.service, { LookupUser, CheckPassword }];
}
