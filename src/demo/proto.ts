import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SteadyError } from "../errors/index.js";

/** The demo's wire messages, as @grpc/proto-loader decodes them (camelCase, defaults filled in). */
export interface LookupUserRequest {
  user: string;
}
export interface LookupUserReply {
  userId: string;
  passwordHash: string;
  servedBy: string;
}
export interface CheckPasswordRequest {
  user: string;
  password: string;
}
export interface CheckPasswordReply {
  ok: boolean;
  servedBy: string;
}
export interface LoginRequest {
  user: string;
  password: string;
}
export interface LoginReply {
  sessionToken: string;
  userId: string;
  servedBy: string;
}
export interface PlayRequest {
  sessionToken: string;
  trackId: string;
}
export interface PlayReply {
  streamUrl: string;
  servedBy: string;
}

/** The three services of proto/demo.proto: client constructors, and typed methods for calls and servers. */
export interface DemoProto {
  readonly Accounts: grpc.ServiceClientConstructor;
  readonly Login: grpc.ServiceClientConstructor;
  readonly Playback: grpc.ServiceClientConstructor;
  readonly methods: {
    readonly lookupUser: grpc.MethodDefinition<LookupUserRequest, LookupUserReply>;
    readonly checkPassword: grpc.MethodDefinition<CheckPasswordRequest, CheckPasswordReply>;
    readonly login: grpc.MethodDefinition<LoginRequest, LoginReply>;
    readonly play: grpc.MethodDefinition<PlayRequest, PlayReply>;
  };
}

/** The package root: the nearest folder above this module with a package.json (works from src/ and dist/). */
export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new SteadyError("not-found", `no package.json in ${start} or any folder above it`);
  }
}

/** Loads proto/demo.proto from the package root; throws if it is missing or does not define the three services. */
export function loadDemoProto(): DemoProto {
  const file = join(findPackageRoot(), "proto", "demo.proto");
  const definition = protoLoader.loadSync(file, { keepCase: false, defaults: true, longs: Number, enums: String });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { steadymesh?: { demo?: Record<string, unknown> } };
  const demo = pkg.steadymesh?.demo ?? {};
  const Accounts = service(demo, "Accounts", file);
  const Login = service(demo, "Login", file);
  const Playback = service(demo, "Playback", file);
  return {
    Accounts,
    Login,
    Playback,
    methods: {
      lookupUser: method(Accounts, "LookupUser"),
      checkPassword: method(Accounts, "CheckPassword"),
      login: method(Login, "Login"),
      play: method(Playback, "Play"),
    },
  };
}

function service(pkg: Record<string, unknown>, name: string, file: string): grpc.ServiceClientConstructor {
  const ctor = pkg[name];
  if (typeof ctor !== "function") throw new SteadyError("internal", `${file} does not define service steadymesh.demo.${name}`);
  return ctor as grpc.ServiceClientConstructor;
}

function method<Req, Res>(ctor: grpc.ServiceClientConstructor, name: string): grpc.MethodDefinition<Req, Res> {
  const definition = ctor.service[name];
  if (!definition) throw new SteadyError("internal", `service ${ctor.serviceName} has no method ${name}`);
  return definition as grpc.MethodDefinition<Req, Res>;
}
