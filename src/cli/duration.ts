import { InvalidArgumentError } from "commander";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `2m`, `24h`, `7d` or `1500ms` as milliseconds, from `min` to `max` (a commander argument parser). */
export function duration(min: number, max: number): (value: string) => number {
  const range = `${describeMs(min)} to ${describeMs(max)}`;
  return (value) => {
    const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value.trim());
    const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : Number.NaN;
    if (!Number.isSafeInteger(ms) || ms < min || ms > max) {
      throw new InvalidArgumentError(`It must be a duration such as 90s, 2m, 24h or 7d (units ms, s, m, h, d), from ${range}.`);
    }
    return ms;
  };
}

/** The largest whole unit that states `ms` exactly: 86400000 → `1d`, 90000 → `90s`. */
export function describeMs(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    if (ms >= UNIT_MS[unit]! && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
