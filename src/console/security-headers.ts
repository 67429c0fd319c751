/**
 * The console's Content-Security-Policy: only this origin's own scripts,
 * styles and connections; no inline script, no plugins, never framed.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * A lab report's policy: the console shows it in a same-origin iframe, so it
 * may be framed by us only, and `sandbox` keeps any script in it from running
 * or reaching the console's cookies. Its styles are inline.
 */
export const LAB_REPORT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox";

/** On every response, JSON included: no MIME sniffing, no framing. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/** On every `/ui` response (a route may set its own CSP and framing first, as the lab reports do). */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** On lab report files: framed by the console, sandboxed. */
export const LAB_REPORT_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": LAB_REPORT_CSP,
  "x-frame-options": "SAMEORIGIN",
};

/** True for `/ui` and everything below it: the paths that get CONSOLE_HEADERS. */
export function isConsolePath(url: string): boolean {
  return /^\/ui(?:[/?#]|$)/.test(url);
}
