/** Shared wording of validation messages: every component names bad values and paths the same way. */

const MAX_SHOWN = 40;

/** A bad value as a message shows it: JSON, cut to a readable length. */
export function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  // Strings are cut inside the quotes, so the message still shows where the value ends.
  if (typeof value === "string") return JSON.stringify(value.length > MAX_SHOWN - 2 ? `${value.slice(0, MAX_SHOWN - 3)}…` : value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A BigInt or a cycle (e.g. through a YAML alias) cannot be JSON; String() still gives a readable message.
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** A zod `error` option whose message names the rule and shows the value that broke it. */
export function rule(allowed: string): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) => (issue.input === undefined ? `is required; must be ${allowed}` : `must be ${allowed}, got ${show(issue.input)}`),
  };
}

export function oneOf(values: readonly string[]): string {
  return `one of ${values.join(", ")}`;
}

/** `xdsServers[1]`, `backoff.maxMs`, `endpoints[0].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out;
}
