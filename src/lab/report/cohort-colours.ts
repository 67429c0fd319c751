/**
 * Each cohort's colour, by its name alone, so a cohort looks the same in
 * every report whatever the order or number of cohorts. The lab's cohorts
 * have fixed colours (Okabe–Ito, colour-blind safe, dark enough on white);
 * any other name gets one of OTHER_COLOURS by a hash of its name.
 */
export const COHORT_COLOURS: Readonly<Record<string, string>> = {
  "xds-default": "#D55E00",
  "xds-remediated": "#E69F00",
  "xds-ignore-deletion": "#CC79A7",
  steady: "#0072B2",
  dns: "#009E73",
  "xds-default-guarded": "#6A3D9A",
  "xds-dns-fallback": "#56B4E9",
};

/** For names not in COHORT_COLOURS; none of them is one of those. */
export const OTHER_COLOURS: readonly string[] = ["#000000", "#8C510A", "#01665E", "#B2182B", "#4D4D4D"];

export function cohortColour(cohort: string): string {
  if (Object.hasOwn(COHORT_COLOURS, cohort)) return COHORT_COLOURS[cohort]!;
  // FNV-1a: stable across runs and Node versions, unlike anything keyed on insertion order.
  let hash = 0x811c9dc5;
  for (let i = 0; i < cohort.length; i++) hash = Math.imul(hash ^ cohort.charCodeAt(i), 0x01000193) >>> 0;
  return OTHER_COLOURS[hash % OTHER_COLOURS.length]!;
}
