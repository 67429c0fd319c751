/** The console's one cookie. */
export const SESSION_COOKIE = "steadymesh_session";

/** What a session id looks like (32 bytes, base64url, no padding); any other cookie value is ignored. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * The session id in a `Cookie` header, or undefined. Only the few lines one
 * cookie needs: `name=value` pairs split on `;`; the first pair with our name
 * wins; a value not shaped like a session id counts as absent.
 */
export function sessionIdOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = pair.slice(eq + 1).trim();
    return SESSION_ID.test(value) ? value : undefined;
  }
  return undefined;
}

/**
 * The `Set-Cookie` value for a new session: not readable by scripts, never
 * sent on a cross-site request, for the whole API (the console calls /v1/…),
 * and `Secure` when the admin API serves TLS (a plain-HTTP browser would drop it).
 */
export function sessionCookie(id: string, options: { readonly secure: boolean; readonly maxAgeSeconds: number }): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${options.maxAgeSeconds}${options.secure ? "; Secure" : ""}`;
}

/** The `Set-Cookie` value that makes the browser forget the session. */
export function clearedSessionCookie(options: { readonly secure: boolean }): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${options.secure ? "; Secure" : ""}`;
}
