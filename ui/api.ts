import type { Session } from "./types.js";

/**
 * The console's one way to the admin API: same-origin fetch with the session
 * cookie, the CSRF token on every change, and a 401 anywhere sending the user
 * back to the login form (the session expired or its token was revoked).
 */

/** An answer that was not 2xx: `message` is the server's `error` text. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

let csrf = "";
let onUnauthorized: () => void = () => undefined;

/** Called once a session is known (login or /ui/session), and with "" on logout. */
export function setCsrf(token: string): void {
  csrf = token;
}

/** What to do when any call answers 401; main.tsx shows the login form. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  return request<T>("GET", url, undefined, signal);
}

export async function postJson<T>(url: string, body?: unknown): Promise<T> {
  return request<T>("POST", url, body);
}

export async function putJson<T>(url: string, body: unknown): Promise<T> {
  return request<T>("PUT", url, body);
}

export async function deleteJson<T>(url: string): Promise<T> {
  return request<T>("DELETE", url);
}

async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET" && csrf !== "") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init: RequestInit = { method, credentials: "same-origin", headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (signal) init.signal = signal;
  const response = await fetch(url, init);
  const text = await response.text();
  const data = parse(text);
  if (!response.ok) {
    // The login call's own 401 is a wrong token, not an expired session.
    if (response.status === 401 && url !== "/ui/login") onUnauthorized();
    throw new ApiError(response.status, errorText(data, response));
  }
  return data as T;
}

function parse(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorText(data: unknown, response: Response): string {
  if (data && typeof data === "object" && typeof (data as { error?: unknown }).error === "string") return (data as { error: string }).error;
  if (typeof data === "string" && data !== "") return data.slice(0, 300);
  return `${response.status} ${response.statusText}`.trim();
}

export function login(token: string): Promise<Session> {
  return postJson<Session>("/ui/login", { token });
}

export function logout(): Promise<void> {
  return postJson<void>("/ui/logout");
}

/** The current session, or undefined when there is none (401). */
export async function currentSession(): Promise<Session | undefined> {
  const response = await fetch("/ui/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) return undefined;
  if (!response.ok) throw new ApiError(response.status, `GET /ui/session answered ${response.status}`);
  return (await response.json()) as Session;
}

/** A path segment for a URL (service names are DNS labels, but a hand-typed URL may hold anything). */
export function seg(text: string | number): string {
  return encodeURIComponent(String(text));
}
