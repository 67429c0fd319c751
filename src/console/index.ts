/** The web console's server side, apart from HTTP: sessions, its cookie, security headers, the files it serves. */
export { createSessionBook, csrfMatches, MAX_SESSIONS, SESSION_MAX_AGE_MS, type Session, type SessionBook, type SessionBookOptions } from "./session-book.js";
export { SESSION_COOKIE, sessionIdOf, sessionCookie, clearedSessionCookie } from "./cookie.js";
export { API_HEADERS, CONSOLE_CSP, CONSOLE_HEADERS, LAB_REPORT_CSP, LAB_REPORT_HEADERS, isConsolePath } from "./security-headers.js";
export { createLoginLimiter, LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_MS, type LoginLimiter } from "./login-limiter.js";
export { contentTypeOf, defaultUiDir, readAsset, readLabReportFile, readRegularFile, LAB_REPORT_FILES } from "./static-files.js";
