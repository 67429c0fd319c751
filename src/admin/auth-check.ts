import type { FastifyReply, FastifyRequest } from "fastify";
import { allows, describeNeed, type Need, type Principal, type TokenAuthority } from "../auth/index.js";
import { csrfMatches, sessionIdOf, type Session, type SessionBook } from "../console/index.js";
import { PermissionDeniedError, SteadyError, UnauthenticatedError } from "../errors/index.js";

/**
 * What a route needs of the caller's token. `open` is for `/healthz` and the
 * console's shell, assets, login and logout, which hold no data (the
 * table-driven test in test/unit/admin-auth.test.ts holds every other route
 * to a scope). An identity route names the service from the request
 * (its params, or its body: it is checked once the body is parsed).
 */
export type RouteScope = "open" | "read" | "write" | "operator" | IdentityScope;

export interface IdentityScope {
  /** The service whose `identity:<service>` the request needs; may read the parsed body. */
  readonly identity: (request: FastifyRequest) => string;
}

/**
 * Admin API authentication. Required in AdminDeps, so no caller can forget
 * it: `required: false` is `serve --auth off` (loopback only; serve checks).
 * The authority also serves `/v1/tokens`, with authentication on or off.
 */
export type AdminAuth =
  | { readonly required: true; readonly authority: TokenAuthority }
  | { readonly required: false; readonly authority?: TokenAuthority };

/** The route config fastify carries for each route: its scope. */
export interface ScopeConfig {
  readonly scope: RouteScope;
}

/** onRequest authenticates and checks level scopes; preHandler checks identity scopes, whose service may be in the body. */
export interface AuthHooks {
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  preHandler(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Who onRequest authenticated the request as, and the console session it came through; undefined for open routes. */
  identify(request: FastifyRequest): { readonly principal: Principal; readonly session?: Session } | undefined;
}

const BEARER = /^Bearer +([^\s]+) *$/i;
/** Methods that change something: a request authenticated by the session cookie must prove it comes from the console. */
const UNSAFE_METHODS = new Set(["POST", "PUT", "DELETE", "PATCH"]);
export const CSRF_MESSAGE = "missing or wrong X-CSRF-Token header: the console sends it; a cross-site request cannot";

function scopeOf(request: FastifyRequest): RouteScope | undefined {
  return (request.routeOptions.config as Partial<ScopeConfig> | undefined)?.scope;
}

/** `write (or operator)`: the scope named, and the broader ones that also allow it. */
function wanted(need: Need): string {
  if (need === "read") return "read (or write, operator)";
  if (need === "operator") return "operator";
  return `${describeNeed(need)} (or operator)`;
}

/**
 * Hooks that hold every request to its route's scope: 401 (UnauthenticatedError)
 * without a valid `Authorization: Bearer` token, 403 (PermissionDeniedError)
 * when its scope does not allow the route; both name the scope needed. A
 * request for no route needs a valid token too, so an unauthenticated caller
 * learns nothing about which routes exist. Messages never echo the token.
 *
 * With `sessions`, a request without `Authorization` may instead carry the
 * console's session cookie: it is authenticated as the session's token,
 * verified again on every request (a revoked or expired token ends the
 * session: 401), and a POST, PUT or DELETE must also carry the session's
 * `X-CSRF-Token` (403 otherwise, before the scope check). A Bearer header
 * wins when both are present. Scopes are then checked exactly as for Bearer.
 */
export function createAuthHooks(authority: TokenAuthority, sessions?: SessionBook): AuthHooks {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const sessionOfRequest = new WeakMap<FastifyRequest, Session>();
  const what = (request: FastifyRequest): string => `${request.method} ${request.routeOptions.url ?? request.url.split("?")[0]}`;

  /** `scope` undefined: a request for no route, which needs a valid token of any scope. */
  async function authenticate(request: FastifyRequest, scope: Exclude<RouteScope, "open"> | undefined): Promise<Principal> {
    const header = request.headers.authorization;
    const need = scope === undefined ? "" : `; ${what(request)} needs scope ${wanted(typeof scope === "object" ? { identity: "<service>" } : scope)}`;
    if (header === undefined) {
      const id = sessions && sessionIdOf(request.headers.cookie);
      if (sessions && id !== undefined) return fromSession(request, sessions, id, need);
      throw new UnauthenticatedError(`missing token: send the header "Authorization: Bearer <token>"${need}`);
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw new UnauthenticatedError(`the Authorization header must be "Bearer <token>"${need}`);
    return authority.verify(token);
  }

  async function fromSession(request: FastifyRequest, book: SessionBook, id: string, need: string): Promise<Principal> {
    const session = book.get(id);
    if (session === undefined) throw new UnauthenticatedError(`console session unknown or older than 8 h: log in again at /ui/login${need}`);
    let principal: Principal;
    try {
      principal = await authority.verify(session.token);
    } catch (err) {
      if (!(err instanceof SteadyError && err.code === "unauthenticated")) throw err;
      book.close(id);
      throw new UnauthenticatedError(`console session ended, its token is no longer valid (${err.message}): log in again at /ui/login${need}`);
    }
    if (UNSAFE_METHODS.has(request.method) && !csrfMatches(session, headerValue(request.headers["x-csrf-token"]))) throw new PermissionDeniedError(CSRF_MESSAGE);
    sessionOfRequest.set(request, session);
    return principal;
  }

  function authorize(request: FastifyRequest, principal: Principal, need: Need): void {
    if (allows(principal.scope, need)) return;
    throw new PermissionDeniedError(`token "${principal.name}" has scope ${principal.scope}; ${what(request)} needs scope ${wanted(need)}`);
  }

  return {
    async onRequest(request) {
      const scope = scopeOf(request);
      if (scope === "open") return;
      const principal = await authenticate(request, scope);
      principals.set(request, principal);
      if (scope === undefined) return;
      if (typeof scope === "object") {
        // The service may be in the body, not parsed yet: only a token that could ever pass goes on to preHandler.
        if (principal.scope !== "operator" && !principal.scope.startsWith("identity:")) authorize(request, principal, { identity: "<service>" });
        return;
      }
      authorize(request, principal, scope);
    },
    async preHandler(request) {
      const scope = scopeOf(request);
      if (typeof scope !== "object") return;
      const principal = principals.get(request);
      if (!principal) throw new UnauthenticatedError(`missing token; ${what(request)} needs scope ${wanted({ identity: "<service>" })}`);
      authorize(request, principal, { identity: scope.identity(request) });
    },
    identify(request) {
      const principal = principals.get(request);
      if (principal === undefined) return undefined;
      const session = sessionOfRequest.get(request);
      return { principal, ...(session && { session }) };
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
