/**
 * Times in a scenario file: `HH:MM` or `HH:MM:SS` on the scenario clock (the
 * wall clock of the incident, 00:00–23:59:59, one day), or `+<N>s`, N whole
 * scenario seconds after the scenario's start.
 */

const CLOCK = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;
const OFFSET = /^\+(\d{1,6})s$/;

export const TIME_RULE = `"HH:MM" or "+<seconds>s"`;
export const CLOCK_RULE = `"HH:MM" or "HH:MM:SS" (00:00 to 23:59:59)`;

/** Seconds since midnight for `HH:MM[:SS]`, or undefined if `text` is not a valid clock time. */
export function parseClock(text: string): number | undefined {
  const match = CLOCK.exec(text);
  if (!match) return undefined;
  const [hours, minutes, seconds] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return hours * 3600 + minutes * 60 + seconds;
}

/** True when `text` is a clock time or an offset. */
export function isTime(text: string): boolean {
  return parseClock(text) !== undefined || OFFSET.test(text);
}

/**
 * Scenario seconds since the start for a time, given the start's seconds
 * since midnight; undefined if `text` is not a valid time. A clock time
 * before the start gives a negative number, which the caller reports.
 */
export function toScenarioSec(text: string, startOfDaySec: number): number | undefined {
  const clock = parseClock(text);
  if (clock !== undefined) return clock - startOfDaySec;
  const match = OFFSET.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** `18:07`, or `18:07:30` when the seconds are not zero; wraps past midnight. */
export function formatClock(secondsOfDay: number): string {
  const total = ((Math.floor(secondsOfDay) % 86_400) + 86_400) % 86_400;
  const pad = (n: number): string => String(n).padStart(2, "0");
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return s === 0 ? `${pad(h)}:${pad(m)}` : `${pad(h)}:${pad(m)}:${pad(s)}`;
}
