/**
 * A status as a word in a coloured pill: the word carries the meaning, the
 * colour only repeats it (never colour alone). Unknown statuses get the
 * neutral style.
 */
const TONES: Record<string, string> = {
  healthy: "good",
  pushed: "good",
  pass: "good",
  ok: "good",
  unhealthy: "bad",
  rejected: "bad",
  fail: "bad",
  failed: "bad",
  unreadable: "bad",
  held: "warn",
  draining: "warn",
  canary: "warn",
  inconclusive: "warn",
  "rolled-back": "neutral",
  unknown: "neutral",
};

export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${TONES[props.status] ?? "neutral"}`}>{props.status}</span>;
}
