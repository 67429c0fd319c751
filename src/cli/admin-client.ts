import { SteadyError, UnavailableError, type ErrorCode } from "../errors/index.js";
import { inCliWords, type FieldFlags } from "./cli-wording.js";

/** A request that gets no answer within this long is reported as unreachable rather than hanging the CLI. */
const REQUEST_TIMEOUT_MS = 10_000;

export type AdminMethod = "GET" | "PUT" | "POST" | "DELETE";

/** Talks JSON to a running server's admin API (README, "Admin HTTP API"). */
export interface AdminClient {
  /**
   * Sends one request and resolves with the parsed JSON answer. Rejects with
   * UnavailableError when the server cannot be reached, and with a
   * SteadyError carrying the server's own `error` text on a 4xx/5xx answer,
   * in the CLI's words (see cli-wording.ts): `flags` names the flag that set
   * each body field, so that a rejected field is reported as its flag.
   */
  request<T>(method: AdminMethod, path: string, body?: unknown, flags?: FieldFlags): Promise<T>;
}

/** Path segment for a name; names are DNS labels, but a bad one must still reach the server intact to be rejected there. */
export function segment(name: string): string {
  return encodeURIComponent(name);
}

/** The bearer token to send, and where it came from (named in 401 and 403 messages; the token never is). */
export interface ClientToken {
  readonly token?: string;
  readonly source: string;
  /** Appended to the server's message on 401 and 403. */
  readonly hint: string;
}

export function createAdminClient(baseUrl: string, fetchImpl: typeof fetch = fetch, auth?: ClientToken): AdminClient {
  const authorization: Record<string, string> = auth?.token ? { authorization: `Bearer ${auth.token}` } : {};
  return {
    async request<T>(method: AdminMethod, path: string, body?: unknown, flags?: FieldFlags): Promise<T> {
      const url = `${baseUrl}${path}`;
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(url, {
          method,
          headers: body === undefined ? authorization : { ...authorization, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        text = await response.text();
      } catch (err) {
        const next = refused(err) ? "; is 'steadymesh serve' running there? (--admin URL names another server)" : "";
        throw new UnavailableError(`cannot reach the admin API at ${baseUrl}: ${describeFetchFailure(err)}${next}`, { cause: err });
      }
      const parsed = parseJson(text);
      if (!response.ok) throw answerError(response, parsed, baseUrl, auth?.hint, flags);
      if (parsed === undefined) {
        throw new SteadyError("internal", `the admin API at ${baseUrl} answered ${method} ${path} with something that is not JSON`);
      }
      return parsed as T;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON (e.g. a proxy's HTML error page); the caller reports it by status instead.
    return undefined;
  }
}

const CODE_BY_STATUS: Record<number, ErrorCode> = { 400: "invalid-argument", 401: "unauthenticated", 403: "permission-denied", 404: "not-found", 409: "conflict", 503: "unavailable" };

/** The server's `{ "error": "…" }` text, as a typed error; its status when the body has none. */
function answerError(response: Response, body: unknown, baseUrl: string, hint: string | undefined, flags: FieldFlags | undefined): SteadyError {
  const serverText = typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
    ? (body as { error: string }).error
    : undefined;
  const answer = serverText !== undefined ? inCliWords(serverText, flags) : `the admin API at ${baseUrl} answered HTTP ${response.status} ${response.statusText}`.trim();
  const message = hint !== undefined && (response.status === 401 || response.status === 403) ? `${answer} (${hint})` : answer;
  const code = CODE_BY_STATUS[response.status] ?? (response.status < 500 ? "invalid-argument" : "internal");
  return new SteadyError(code, message);
}

/** True when nothing listens at the address (every address tried, for a name with several). */
function refused(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  const causes: unknown[] = cause instanceof AggregateError ? cause.errors : [cause];
  return causes.length > 0 && causes.every((c) => (c as { code?: unknown } | undefined)?.code === "ECONNREFUSED");
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND…) is in its cause. */
function describeFetchFailure(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof AggregateError) {
    // Several addresses were tried (e.g. ::1 and 127.0.0.1 for localhost); the first reason stands for all.
    const first: unknown = cause.errors[0];
    if (first instanceof Error && first.message) return first.message;
  }
  if (cause instanceof Error) return cause.message || (cause as { code?: string }).code || String(cause);
  return err instanceof Error ? err.message : String(err);
}
