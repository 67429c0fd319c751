import * as grpc from "@grpc/grpc-js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log/index.js";
import type { Listening } from "./grpc-server.js";
import type { DemoProto } from "./proto.js";
import { RpcFailure } from "./rpc.js";
import type { SessionTokens } from "./session-token.js";
import { callUpstream, type Upstream } from "./upstream.js";

/**
 * The HTTP edge of the login path, where gRPC statuses become HTTP ones:
 * - `POST /login {user, password}` → 200 `{token, userId, servedBy}`;
 *   401 `{error, code: "UNAUTHENTICATED"}` for a wrong user or password;
 *   503 `{error, code, details}` when the Login RPC fails, `code` being the
 *   gRPC status name (UNAVAILABLE, DEADLINE_EXCEEDED, NOT_FOUND, …);
 * - `GET /me` with `Authorization: Bearer <token>` → 200 `{userId, streamUrl, servedBy}`
 *   after checking the token here and calling Playback.Play (`?track=ID`
 *   picks the track); 401 for a bad token; 503 `{error, code, details}` when Play fails;
 * - `GET /healthz` → 200 `{status: "ok", id}`;
 * - 400 for a bad body, 404/405 for anything else.
 */
export interface GatewayDeps {
  readonly proto: DemoProto;
  readonly login: Upstream;
  readonly playback: Upstream;
  readonly tokens: SessionTokens;
  /** Deadline of each Login and Play call. */
  readonly deadlineMs: number;
  readonly id: string;
  readonly logger: Logger;
}

type Answer = { readonly status: number; readonly body: object };

const BODY_LIMIT = 16 * 1024;
const ROUTES = "POST /login, GET /me, GET /healthz";

/** Starts the gateway on 127.0.0.1:`port` (0 picks a free port). */
export async function startGateway(port: number, deps: GatewayDeps): Promise<Listening> {
  const server = createServer((req, res) => {
    route(req, deps).then(
      (answer) => reply(res, answer),
      (err: unknown) => {
        deps.logger.error({ err }, "gateway request failed unexpectedly");
        reply(res, { status: 500, body: { error: err instanceof Error ? err.message : String(err) } });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(req: IncomingMessage, deps: GatewayDeps): Promise<Answer> {
  const url = new URL(req.url ?? "/", "http://gateway");
  const key = `${req.method ?? ""} ${url.pathname}`;
  switch (key) {
    case "POST /login":
      return login(await readJson(req), deps);
    case "GET /me":
      return me(req.headers.authorization, url.searchParams.get("track") ?? "track-0", deps);
    case "GET /healthz":
      return { status: 200, body: { status: "ok", id: deps.id } };
  }
  const known = ["/login", "/me", "/healthz"].includes(url.pathname);
  return { status: known ? 405 : 404, body: { error: `no route for ${key}; the routes are ${ROUTES}` } };
}

async function login(body: unknown, deps: GatewayDeps): Promise<Answer> {
  if (body instanceof BadRequest) return { status: 400, body: { error: body.message } };
  const { user, password } = (body ?? {}) as { user?: unknown; password?: unknown };
  if (typeof user !== "string" || typeof password !== "string") {
    return { status: 400, body: { error: 'the body must be JSON {"user": string, "password": string}' } };
  }
  try {
    const reply = await callUpstream("login", deps.login, deps.proto.methods.login, { user, password }, deps.deadlineMs);
    return { status: 200, body: { token: reply.sessionToken, userId: reply.userId, servedBy: reply.servedBy } };
  } catch (err) {
    return failure("login", err, deps);
  }
}

async function me(authorization: string | undefined, trackId: string, deps: GatewayDeps): Promise<Answer> {
  const token = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  const session = token === undefined ? undefined : deps.tokens.verify(token);
  if (!token || !session) return { status: 401, body: { error: "missing, invalid or expired session token; send Authorization: Bearer <token>" } };
  try {
    const reply = await callUpstream("playback", deps.playback, deps.proto.methods.play, { sessionToken: token, trackId }, deps.deadlineMs);
    return { status: 200, body: { userId: session.userId, streamUrl: reply.streamUrl, servedBy: reply.servedBy } };
  } catch (err) {
    return failure("playback", err, deps);
  }
}

/** A failed RPC as HTTP: 401 for UNAUTHENTICATED, 400 for INVALID_ARGUMENT, 503 with the gRPC code for the rest. */
function failure(what: string, err: unknown, deps: GatewayDeps): Answer {
  if (!(err instanceof RpcFailure)) throw err;
  const body = { error: err.message, code: err.codeName, details: err.details };
  if (err.code === grpc.status.UNAUTHENTICATED) return { status: 401, body: { ...body, error: "wrong user or password" } };
  if (err.code === grpc.status.INVALID_ARGUMENT) return { status: 400, body };
  // The answer carries the failure; under an outage this fires on every request, hence debug.
  deps.logger.debug({ rpc: what, code: err.codeName, details: err.details }, "upstream call failed");
  return { status: 503, body };
}

class BadRequest extends Error {}

/** The request body as JSON, or a BadRequest saying why it is not. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return new BadRequest(`the body must be at most ${BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    return new BadRequest(`the body must be JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function reply(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
