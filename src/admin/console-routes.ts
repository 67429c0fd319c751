import { resolve } from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";
import { allows, type Principal, type TokenAuthority } from "../auth/index.js";
import {
  clearedSessionCookie,
  createLoginLimiter,
  createSessionBook,
  defaultUiDir,
  LAB_REPORT_HEADERS,
  readAsset,
  readLabReportFile,
  readRegularFile,
  SESSION_MAX_AGE_MS,
  sessionCookie,
  sessionIdOf,
  type LoginLimiter,
  type Session,
  type SessionBook,
} from "../console/index.js";
import { NotFoundError, PermissionDeniedError, SteadyError, UnavailableError, ValidationError } from "../errors/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RouteSpec } from "./routes.js";

/** The 503 message while `dist/ui/index.html` is missing. */
export const CONSOLE_NOT_BUILT = "the console is not built: run npm run build";

/** What the console's routes read: where its files are, and how tokens are checked. */
export interface ConsoleDeps {
  /** Checks the token a login offers; absent only with `serve --auth off`. */
  readonly authority?: TokenAuthority | undefined;
  /** False with `serve --auth off`: every request passes, so the console needs no login. */
  readonly authRequired: boolean;
  /** The built app (index.html, assets/); `dist/ui` of the package by default. Tests pass a temporary one. */
  readonly uiDir?: string | undefined;
  /** Where `serve --lab-reports` points; `./lab-reports` of the working directory by default. */
  readonly labReportsDir?: string | undefined;
  /** The admin API serves TLS: the session cookie is then `Secure`. */
  readonly tls: boolean;
  /** Counts logins by result (`steadymesh_console_logins_total`). */
  readonly metrics?: Pick<Metrics, "consoleLogins"> | undefined;
}

/** Who a request was authenticated as, and through which console session (none for a Bearer token). */
export interface Identity {
  readonly principal: Principal;
  readonly session?: Session;
}

/** Per-server console state: the server owns one, so its routes and its auth hooks share the sessions. */
export interface ConsoleState {
  readonly sessions: SessionBook;
  readonly logins: LoginLimiter;
  /** The identity auth-check.ts established for a request; undefined when authentication is off. */
  identify(request: FastifyRequest): Identity | undefined;
}

export function createConsoleState(identify: ConsoleState["identify"] = () => undefined): ConsoleState {
  return { sessions: createSessionBook(), logins: createLoginLimiter(), identify };
}

/** Paths below /ui that never fall back to the app: a missing asset or report is a 404, not a page. */
const NO_FALLBACK = /^\/ui\/(assets|lab-reports)(\/|$)/;

/**
 * The web console's routes: the app shell and its assets (open: they hold no
 * data), login and logout (open: login checks the token itself), the session
 * (read), and lab report files (read). Every response under /ui gets the
 * console's security headers from the server's onSend hook.
 */
export function createConsoleRoutes(deps: ConsoleDeps, state: ConsoleState): readonly RouteSpec[] {
  const uiDir = deps.uiDir ?? defaultUiDir();
  const labReportsDir = deps.labReportsDir ?? resolve("lab-reports");

  async function sendIndex(reply: FastifyReply): Promise<FastifyReply> {
    const body = uiDir === undefined ? undefined : await readRegularFile(`${uiDir}/index.html`);
    if (body === undefined) throw new UnavailableError(CONSOLE_NOT_BUILT);
    return reply.type("text/html; charset=utf-8").send(body);
  }

  return [
    { method: "GET", url: "/ui", scope: "open", handler: async (_request, reply) => sendIndex(reply) },
    {
      method: "GET",
      url: "/ui/*",
      scope: "open",
      handler: async (request, reply) => {
        const path = request.url.split("?")[0] ?? request.url;
        if (NO_FALLBACK.test(path)) throw new NotFoundError(`no console file at ${path}`);
        return sendIndex(reply);
      },
    },
    {
      method: "GET",
      url: "/ui/assets/:file",
      scope: "open",
      handler: async (request, reply) => {
        if (uiDir === undefined) throw new UnavailableError(CONSOLE_NOT_BUILT);
        const { body, type } = await readAsset(uiDir, (request.params as { file: string }).file);
        // Names are not content-hashed: the browser asks again each time, and gets a 200 (assets are small).
        return reply.type(type).header("cache-control", "no-cache").send(body);
      },
    },
    {
      method: "GET",
      url: "/ui/lab-reports/:name/:file",
      scope: "read",
      handler: async (request, reply) => {
        const { name, file } = request.params as { name: string; file: string };
        const { body, type } = await readLabReportFile(labReportsDir, name, file);
        return reply.type(type).headers(LAB_REPORT_HEADERS).send(body);
      },
    },
    { method: "POST", url: "/ui/login", scope: "open", handler: async (request, reply) => login(deps, state, request, reply) },
    {
      method: "GET",
      url: "/ui/session",
      scope: "read",
      handler: async (request) => {
        const identity = state.identify(request);
        // Authentication off: every request passes anyway, so the console acts as an operator without logging in.
        if (identity === undefined) return { name: "anonymous", scope: "operator", csrf: "" };
        const { principal, session } = identity;
        // A Bearer caller has no session, so no CSRF token: it needs none.
        return { name: principal.name, scope: principal.scope, ...(session && { csrf: session.csrf }) };
      },
    },
    {
      method: "POST",
      url: "/ui/logout",
      scope: "open",
      bodyless: true,
      handler: async (request, reply) => {
        const id = sessionIdOf(request.headers.cookie);
        if (id !== undefined) state.sessions.close(id);
        return reply.code(204).header("set-cookie", clearedSessionCookie({ secure: deps.tls })).send();
      },
    },
  ];
}

/**
 * `POST /ui/login {"token": "…"}`: a valid token that may read opens a
 * session. Failed attempts count against the caller's address (429 after
 * 10 a minute). The token never appears in an answer or a log line.
 */
async function login(deps: ConsoleDeps, state: ConsoleState, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const address = request.ip;
  const waitMs = state.logins.retryAfterMs(address);
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    const error = `too many failed logins from ${address}: try again in ${seconds} s`;
    request.log.warn({ method: request.method, url: request.url, status: 429, error }, "admin request rejected");
    deps.metrics?.consoleLogins.inc({ result: "limited" });
    return reply.code(429).header("retry-after", String(seconds)).send({ error });
  }
  const token = tokenOf(request.body);
  if (!deps.authRequired || deps.authority === undefined) throw new NotFoundError("authentication is off (serve --auth off): the console needs no login");
  let principal: Principal;
  try {
    principal = await deps.authority.verify(token);
  } catch (err) {
    if (err instanceof SteadyError && err.code === "unauthenticated") {
      state.logins.recordFailure(address);
      deps.metrics?.consoleLogins.inc({ result: "refused" });
    }
    throw err;
  }
  if (!allows(principal.scope, "read")) {
    deps.metrics?.consoleLogins.inc({ result: "refused" });
    throw new PermissionDeniedError(`token "${principal.name}" has scope ${principal.scope}; the console needs scope read (or write, operator)`);
  }
  deps.metrics?.consoleLogins.inc({ result: "ok" });
  // A login replaces the session the browser had: the old cookie value stops working at once.
  const previous = sessionIdOf(request.headers.cookie);
  if (previous !== undefined) state.sessions.close(previous);
  const session = state.sessions.open(token);
  void reply.header("set-cookie", sessionCookie(session.id, { secure: deps.tls, maxAgeSeconds: SESSION_MAX_AGE_MS / 1000 }));
  return { name: principal.name, scope: principal.scope, csrf: session.csrf };
}

/** The login body's token; the message never shows what was sent, since it may be a secret. */
function tokenOf(body: unknown): string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ValidationError([{ path: "body", message: 'must be a JSON object {"token": "smt_…"}' }]);
  const fields = Object.keys(body);
  const extra = fields.filter((field) => field !== "token");
  const issues = extra.map((field) => ({ path: field, message: "unknown field; the login body has only token" }));
  const token = (body as { token?: unknown }).token;
  if (typeof token !== "string" || token === "") issues.push({ path: "token", message: "required: the admin token, a string (smt_ followed by 43 characters)" });
  if (issues.length > 0) throw new ValidationError(issues);
  return token as string;
}
