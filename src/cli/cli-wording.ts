/**
 * The admin API's error texts speak the API: routes (`GET /v1/generations`)
 * and JSON field names (`ttlMs`). Its bodies stay that way for API callers;
 * the CLI rewrites them here, in one place, into what a CLI user types: the
 * command to run next and the flag that set the field.
 */

/** Body field name → the flag that sets it, for the one request that sent the body. */
export type FieldFlags = Readonly<Record<string, string>>;

/**
 * Routes the server's messages name ("… GET /v1/generations lists them", "PUT
 * /v1/services/:service/instances/:id needs scope write"), and the command
 * that makes the same request. Longest routes first, so that a route is not
 * taken for the start of a longer one.
 */
const COMMAND_FOR_ROUTE: ReadonlyArray<readonly [string, string]> = [
  ["PUT /v1/services/:service/instances/:id/heartbeat", "steadymesh heartbeat"],
  ["PUT /v1/services/:service/intentions/:source", "steadymesh intention allow|deny"],
  ["DELETE /v1/services/:service/intentions/:source", "steadymesh intention delete"],
  ["GET /v1/services/:service/policy", "steadymesh policy get"],
  ["PUT /v1/services/:service/policy", "steadymesh policy apply"],
  ["DELETE /v1/services/:service/policy", "steadymesh policy delete"],
  ["POST /v1/policies/diff", "steadymesh policy diff"],
  ["POST /v1/policies", "steadymesh policy apply"],
  ["PUT /v1/services/:service/instances/:id", "steadymesh register"],
  ["DELETE /v1/services/:service/instances/:id", "steadymesh deregister"],
  ["POST /v1/generations/:id/approve", "steadymesh approve"],
  ["POST /v1/generations/:id/rollback", "steadymesh rollback"],
  ["GET /v1/services/:service", "steadymesh list SERVICE"],
  ["GET /v1/services", "steadymesh list"],
  ["GET /v1/clients", "steadymesh status"],
  ["GET /v1/generations", "steadymesh generations"],
  ["POST /v1/tokens", "steadymesh token create"],
  ["GET /v1/tokens", "steadymesh token list"],
  ["DELETE /v1/tokens/:name", "steadymesh token revoke"],
  ["POST /v1/certificates", "steadymesh cert"],
];
const ROUTE_PATTERNS = COMMAND_FOR_ROUTE.map(([route, command]) => [new RegExp(`${escapeRegExp(route)}(?![\\w/:{])`, "g"), `'${command}'`] as const);

/** What to run after a "not found", appended when the message does not already name a command. */
const NEXT_FOR_NOT_FOUND: ReadonlyArray<readonly [RegExp, (match: RegExpExecArray) => string]> = [
  [/^instance "[^"]*" not found in service "([^"]*)"$/, (m) => `'steadymesh list ${m[1]}' shows its instances`],
  [/^service "[^"]*" not found$/, () => "'steadymesh list' shows the registered services"],
  [/^generation \d+ not found$/, () => "'steadymesh generations' lists them"],
];

/**
 * `message` (a server's error text) in the CLI's words: routes become
 * commands, each field of `flags` becomes its flag where it is an issue's
 * path (`ttlMs: must be …` → `--ttl-ms: must be …`), is quoted (`"ttlMs"`),
 * or, for a camelCase name that no English word shares, stands alone; a
 * bare "not found" gets the command that lists what exists.
 */
export function inCliWords(message: string, flags: FieldFlags = {}): string {
  let text = message;
  for (const [route, command] of ROUTE_PATTERNS) text = text.replace(route, command);
  for (const [field, flag] of Object.entries(flags)) {
    const name = escapeRegExp(field);
    text = text
      .replace(new RegExp(`(^|; )${name}(?=[:.[])`, "g"), `$1${flag}`)
      .replace(new RegExp(`"${name}"`, "g"), flag);
    if (/[A-Z]/.test(field)) text = text.replace(new RegExp(`\\b${name}\\b`, "g"), flag);
  }
  for (const [pattern, next] of NEXT_FOR_NOT_FOUND) {
    const match = pattern.exec(text);
    if (match) return `${text}; ${next(match)}`;
  }
  return text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
