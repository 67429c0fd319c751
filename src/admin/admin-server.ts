import Fastify, {
  errorCodes,
  LogController,
  type FastifyInstance,
  type RawServerDefault,
  type FastifyReply,
  type FastifyRequest,
  type InjectOptions,
  type LightMyRequestResponse,
} from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LabFaults } from "../faults/index.js";
import type { Logger } from "../log/index.js";
import { createAuthHooks, type AdminAuth, type ScopeConfig } from "./auth-check.js";
import { createCertificateRoutes, type CertificateSigner } from "./certificate-routes.js";
import { API_HEADERS, CONSOLE_HEADERS, isConsolePath } from "../console/index.js";
import { createConsoleRoutes, createConsoleState, type ConsoleState } from "./console-routes.js";
import { createFaultRoutes } from "./fault-routes.js";
import { createGenerationRoutes } from "./generation-routes.js";
import { createPolicyRoutes } from "./policy-routes.js";
import { createHostGuard } from "./host-guard.js";
import { withDepthLimit, type JsonParser } from "./json-body.js";
import { toHttpError } from "./http-errors.js";
import { allowedMethods, createRoutes, type RouteDeps, type RouteSpec } from "./routes.js";
import { createTokenRoutes } from "./token-routes.js";
import { createEventRoutes, createEventStreams, type EventStreams } from "./event-routes.js";
import { createLabReportRoutes } from "./lab-report-routes.js";
import { createOverviewRoutes } from "./overview-routes.js";
import { createServiceDetailRoutes } from "./service-detail-routes.js";
import type { Clock } from "../clock/index.js";
import type { HealthMonitor } from "../health/index.js";

/** The largest request body accepted unless `bodyLimit` says otherwise: 64 KiB. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface AdminDeps extends RouteDeps {
  readonly logger: Logger;
  /** Tokens and scopes (auth-check.ts); `{ required: false }` only for `serve --auth off`, which serve allows on loopback only. */
  readonly auth: AdminAuth;
  /** Largest request body in bytes; larger ones get 413. */
  readonly bodyLimit?: number;
  /** The lab's faults (`serve --enable-faults`); without them `/v1/faults` answers 404 and says how to turn them on. */
  readonly faults?: LabFaults | undefined;
  /** Names besides the bound address and `localhost` that Host and Origin may carry (`serve --admin-host`). */
  readonly adminHosts?: readonly string[] | undefined;
  /** The CA `POST /v1/certificates` signs with; without one that route answers 404 and says so. */
  readonly certificates?: CertificateSigner | undefined;
  /** Serve HTTPS with this certificate chain and key (PEM; `serve --tls`); plain HTTP without. */
  readonly tls?: { readonly certificateChain: string; readonly privateKeyPem: string } | undefined;
  /** This machine's addresses, allowed in Host when the API is bound to 0.0.0.0 or ::; os.networkInterfaces() by default. */
  readonly interfaceAddresses?: () => readonly string[];
  /** The web console's built files (index.html, assets/); `dist/ui` of the package by default. Tests pass a temporary one. */
  readonly uiDir?: string | undefined;
  /** The health monitor's last check per instance (`/v1/services/{service}/checks`); `{}` for every service without it. */
  readonly checks?: Pick<HealthMonitor, "lastChecks"> | undefined;
  /** `serve --dns-domain`, for `/v1/services/{service}/dns`; `mesh` without it. */
  readonly dnsDomain?: string | undefined;
  /** `serve --lab-reports`, absolute: `/v1/lab-reports` lists it (and the console serves its files); `./lab-reports` of the cwd without it. */
  readonly labReportsDir?: string | undefined;
  /** The event stream's ping and NACK-limit timers; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Open `/v1/events` streams allowed at once; MAX_EVENT_STREAMS (1000) by default. */
  readonly maxEventStreams?: number | undefined;
}

export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

/** The admin HTTP API (README, "Admin HTTP API"). */
export interface AdminServer {
  /** Starts listening; resolves with the bound address (the real port when 0 was asked for). */
  listen(host: string, port: number): Promise<AdminAddress>;
  /** Graceful: stops accepting, lets in-flight requests finish, drops idle keep-alive connections. Idempotent. */
  close(): Promise<void>;
  /** Serves one request in-process, without a socket; for tests. */
  inject(options: InjectOptions | string): Promise<LightMyRequestResponse>;
}

/**
 * Every route of the API, each with its scope: the table the server registers and test/unit/admin-auth.test.ts walks.
 * `consoleState` is the server's console state (sessions, login limits) and `streams` its open event streams; a table
 * built only to be read gets its own.
 */
export function adminRoutes(
  deps: Pick<AdminDeps, keyof RouteDeps | "faults" | "auth" | "certificates" | "checks" | "dnsDomain" | "labReportsDir" | "clock" | "uiDir" | "tls">,
  consoleState: ConsoleState = createConsoleState(),
  streams: EventStreams = createEventStreams(),
): readonly RouteSpec[] {
  const consoleDeps = { authority: deps.auth.authority, authRequired: deps.auth.required, uiDir: deps.uiDir, labReportsDir: deps.labReportsDir, tls: deps.tls !== undefined, metrics: deps.metrics };
  return [
    ...createRoutes(deps),
    ...createOverviewRoutes(deps),
    ...createServiceDetailRoutes(deps),
    ...createEventRoutes(deps, streams),
    ...createLabReportRoutes(deps.labReportsDir),
    ...createPolicyRoutes(deps.registry),
    ...createGenerationRoutes(deps.generations),
    ...createFaultRoutes(deps.faults),
    ...createTokenRoutes(deps.auth.authority),
    ...createCertificateRoutes(deps.certificates),
    ...createConsoleRoutes(consoleDeps, consoleState),
  ];
}

/**
 * Builds the admin API over a registry. Input is validated by the registry
 * (fault requests by the fault layer); this layer only translates: every
 * error leaves as `{ "error": "…" }` with the status its code maps to,
 * fastify's own errors (bad JSON, body too large, wrong content type, unknown
 * route) included. Every request, `/healthz` too, first passes the Host and
 * Origin check of host-guard.ts (403 otherwise), so a web page can neither
 * drive nor detect the API through DNS rebinding or a cross-site request.
 * Then, unless `auth.required` is false, the token check of auth-check.ts:
 * 401 or 403 before the body is read, `/healthz` and the console's shell,
 * login and logout alone open; the console's session cookie (with its CSRF
 * header on changes) counts as a token. Every response carries nosniff and
 * no-framing headers; every `/ui` one the console's CSP as well.
 */
export function createAdminServer(deps: AdminDeps): AdminServer {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const consoleState = createConsoleState((request) => auth?.identify(request));
  const auth = deps.auth.required ? createAuthHooks(deps.auth.authority, consoleState.sessions) : undefined;
  const streams = createEventStreams(deps.maxEventStreams);
  const routes = adminRoutes(deps, consoleState, streams);
  const hosts = createHostGuard({ names: deps.adminHosts ?? [], ...(deps.interfaceAddresses && { interfaceAddresses: deps.interfaceAddresses }) });

  /** Answers 403 when Host or Origin is not allowed; false when the request may go on. */
  function refusedForeign(request: FastifyRequest, reply: FastifyReply): boolean {
    const error = hosts.refusal({ host: request.headers.host, origin: request.headers.origin });
    if (error === undefined) return false;
    request.log.warn({ method: request.method, url: request.url, status: 403, error }, "admin request refused");
    void reply.code(403).send({ error });
    return true;
  }

  function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const httpError = toHttpError(err, { bodyLimit, contentType: request.headers["content-type"] });
    const context = { method: request.method, url: request.url, status: httpError.status };
    if (httpError.internal) request.log.error({ ...context, err }, "admin request failed");
    else request.log.warn({ ...context, error: httpError.message }, "admin request rejected");
    if (httpError.status === 401) void reply.header("www-authenticate", 'Bearer realm="steadymesh"');
    return reply.code(httpError.status).send({ error: httpError.message });
  }

  const app = Fastify({
    loggerInstance: deps.logger.child({ component: "admin" }),
    // Fastify logs every request at info; we log them at debug in onResponse instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    ...(deps.tls && { https: { cert: deps.tls.certificateChain, key: deps.tls.privateKeyPem } }),
    frameworkErrors: (err, request, reply) => {
      if (!refusedForeign(request, reply)) sendError(err, request, reply);
    },
  });
  // Only JSON bodies are accepted; without this, text/plain would reach the handlers as a string.
  app.removeContentTypeParser("text/plain");
  // fastify's JSON parser (same poisoning rules as its default), behind the nesting limit.
  const json = withDepthLimit(app.getDefaultJsonParser("error", "error"));
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => json(request, String(body), done));
  // Before body parsing and routing, so a refused request learns nothing, not even which routes exist.
  app.addHook("onRequest", async (request, reply) => {
    if (refusedForeign(request, reply)) return reply;
    return undefined;
  });
  if (auth) {
    app.addHook("onRequest", auth.onRequest);
    app.addHook("preHandler", auth.preHandler);
  }
  // Headers a route set itself (a lab report's CSP and framing) stay; the rest are filled in.
  app.addHook("onSend", async (request, reply, payload) => {
    for (const [name, value] of Object.entries(isConsolePath(request.url) ? CONSOLE_HEADERS : API_HEADERS)) if (!reply.hasHeader(name)) void reply.header(name, value);
    return payload;
  });
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) => sendNoRoute(routes, request, reply));
  app.addHook("onResponse", async (request, reply) => {
    // The route's pattern, never the URL: one series per route, whatever the names in it.
    const route = request.routeOptions.url ?? "unmatched";
    deps.metrics?.adminRequests.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, "admin request");
  });
  addRoutes(app, routes, json);

  let closing: Promise<void> | undefined;
  return {
    async listen(host, port) {
      // The asked-for host before listening, so no early request is refused; the real address (e.g. of `localhost`) after.
      hosts.allowBound(host);
      await app.listen({ host, port });
      const address = app.server.address();
      if (address === null || typeof address === "string") throw new Error(`admin API bound to an unexpected address: ${String(address)}`);
      hosts.allowBound(address.address);
      return { host: address.address, port: address.port };
    },
    // Open event streams never finish by themselves: they are ended first, so close() does not wait on them.
    close: () => (closing ??= (streams.closeAll(), app.close())),
    inject: (options) => app.inject(options),
  };
}

/** 405 (with Allow) when the path exists under another method, 404 otherwise. */
function sendNoRoute(routes: readonly RouteSpec[], request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split("?")[0] ?? request.url;
  const allowed = allowedMethods(routes, path);
  const context = { method: request.method, url: request.url };
  if (allowed.length > 0) {
    const error = `method ${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`;
    request.log.warn({ ...context, status: 405, error }, "admin request rejected");
    return reply.code(405).header("allow", allowed.join(", ")).send({ error });
  }
  const error =
    `no route for ${request.method} ${path}; the API serves /v1/services, /v1/services/{service}, ` +
    "/v1/services/{service}/instances/{id}, /v1/services/{service}/instances/{id}/heartbeat, /v1/clients, /v1/generations, /v1/generations/{id}, " +
    "/v1/generations/{id}/approve, /v1/generations/{id}/rollback, /v1/generations/{id}/acks, /v1/overview, /v1/events, /v1/lab-reports, " +
    "/v1/services/{service}/history, /v1/services/{service}/clients, /v1/services/{service}/dns, /v1/services/{service}/checks, /v1/faults, /v1/faults/{id}, /v1/tokens, /v1/tokens/{name}, /v1/certificates, /healthz, /metrics and the console under /ui";
  request.log.warn({ ...context, status: 404, error }, "admin request rejected");
  return reply.code(404).send({ error });
}

/**
 * Registers the table. Bodyless routes live in their own fastify scope whose
 * only parser accepts an empty body of any content-type (as `undefined`) and
 * otherwise parses JSON exactly as the rest of the API does; other
 * content-types with a body stay 415.
 */
function addRoutes(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>, routes: readonly RouteSpec[], json: JsonParser): void {
  const config = (route: RouteSpec): ScopeConfig => ({ scope: route.scope });
  for (const route of routes.filter((r) => !r.bodyless)) app.route({ method: route.method, url: route.url, handler: route.handler, config: config(route) });
  const bodyless = routes.filter((r) => r.bodyless);
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string" }, (request, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text === "") return done(null, undefined);
      const type = request.headers["content-type"] ?? "";
      if (!/^application\/json\s*(;|$)/i.test(type)) return done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(type), undefined);
      return json(request, text, done);
    });
    for (const route of bodyless) scope.route({ method: route.method, url: route.url, handler: route.handler, config: config(route) });
  });
}
